import {
  DEFAULT_VLAN,
  IsapiStatusCode,
  PortVlanMode,
  VlanSubStatus,
  newVlanIdProblem,
  vlanUpdateProblem,
  type SwitchPortVlan,
  type VlanConfig,
  type VlanRefusal,
  type VlanUpdate,
} from '@vigil/protocol';

/** The most VLANs one batch adds on a model whose spec gives no limit. */
const DEFAULT_MAX_VLANS_PER_BATCH = 8;

export interface SwitchVlanOptions {
  /** The switch has ports 1..ports. */
  ports: number;
  /** Link aggregation groups, each a list of port numbers; group n is the n-th list. */
  aggregation?: readonly (readonly number[])[];
  /** The most VLANs one update may add (model-dependent). */
  maxVlansPerBatch?: number;
}

const refused = (subStatus: VlanSubStatus, message: string): VlanRefusal => ({ statusCode: IsapiStatusCode.invalidOperation, subStatus, message });

/**
 * The VLAN side of a managed switch: VLAN 1 always exists and every port starts as an ACCESS port on it.
 * An update is checked whole before anything changes, so a refused one leaves the switch as it was.
 */
export class SwitchVlans {
  readonly maxVlansPerBatch: number;
  private readonly vlans = new Set<number>([DEFAULT_VLAN]);
  private readonly ports: SwitchPortVlan[];

  /** Throws on groups naming unknown ports, a port twice, or fewer than two ports. */
  constructor(opts: SwitchVlanOptions) {
    const groupOf = new Map<number, number>();
    (opts.aggregation ?? []).forEach((ports, i) => {
      const group = i + 1;
      if (ports.length < 2) throw new Error(`aggregation group ${group} needs at least two ports`);
      for (const p of ports) {
        if (!Number.isInteger(p) || p < 1 || p > opts.ports) throw new Error(`aggregation group ${group}: ${p} is not one of ports 1–${opts.ports}`);
        if (groupOf.has(p)) throw new Error(`aggregation: port ${p} is in groups ${groupOf.get(p)} and ${group}`);
        groupOf.set(p, group);
      }
    });
    this.maxVlansPerBatch = opts.maxVlansPerBatch ?? DEFAULT_MAX_VLANS_PER_BATCH;
    if (!Number.isInteger(this.maxVlansPerBatch) || this.maxVlansPerBatch < 1) throw new Error('maxVlansPerBatch must be a whole number ≥ 1');
    this.ports = Array.from({ length: opts.ports }, (_, i) => ({
      port: i + 1,
      mode: PortVlanMode.access,
      pvid: DEFAULT_VLAN,
      allowedVlans: [],
      aggregationGroup: groupOf.get(i + 1) ?? null,
    }));
  }

  get config(): VlanConfig {
    return {
      maxVlansPerBatch: this.maxVlansPerBatch,
      vlans: [...this.vlans].sort((a, b) => a - b),
      ports: this.ports.map((p) => ({ ...p, allowedVlans: [...p.allowedVlans] })),
    };
  }

  /** Adds the VLANs and sets the ports, or changes nothing and says why. Adding a VLAN the switch has is a no-op. */
  apply(u: VlanUpdate): VlanRefusal | undefined {
    const problem = vlanUpdateProblem(u);
    if (problem) return problem;
    if (u.addVlans.length > this.maxVlansPerBatch) {
      return refused(VlanSubStatus.vlanBatchLimit, `this model adds at most ${this.maxVlansPerBatch} VLANs in one batch; ${u.addVlans.length} were given`);
    }
    const known = new Set([...this.vlans, ...u.addVlans]);
    for (const p of u.ports) {
      const port = this.ports[p.port - 1];
      if (!port) return refused(VlanSubStatus.invalidPort, `port ${p.port} does not exist: this switch has ports 1–${this.ports.length}`);
      if (port.aggregationGroup !== null) {
        return refused(
          VlanSubStatus.portInAggregationGroup,
          `port ${p.port} is in aggregation group ${port.aggregationGroup}: VLANs cannot be configured on ports of an aggregation group`,
        );
      }
      const missing = [p.pvid, ...(p.allowedVlans ?? [])].filter((id) => !known.has(id));
      if (missing.length > 0) return refused(VlanSubStatus.vlanNotFound, `port ${p.port}: VLAN ${[...new Set(missing)].join(', ')} does not exist; add it first`);
    }
    for (const id of u.addVlans) this.vlans.add(id);
    for (const p of u.ports) {
      const port = this.ports[p.port - 1]!;
      port.mode = p.mode;
      port.pvid = p.pvid;
      port.allowedVlans = p.mode === PortVlanMode.trunk ? [...new Set(p.allowedVlans)].sort((a, b) => a - b) : [];
    }
    return undefined;
  }

  /** Removes a VLAN no port uses; VLAN 1 stays. */
  remove(id: number): VlanRefusal | undefined {
    if (id === DEFAULT_VLAN) return refused(VlanSubStatus.defaultVlan, 'VLAN 1 is the default VLAN and cannot be deleted');
    const problem = newVlanIdProblem(id);
    if (problem) return problem;
    if (!this.vlans.has(id)) return refused(VlanSubStatus.vlanNotFound, `VLAN ${id} does not exist`);
    const users = this.ports.filter((p) => p.pvid === id || p.allowedVlans.includes(id)).map((p) => p.port);
    if (users.length > 0) return refused(VlanSubStatus.vlanInUse, `VLAN ${id} is in use on port ${users.join(', ')}: move the ports to another VLAN first`);
    this.vlans.delete(id);
    return undefined;
  }
}
