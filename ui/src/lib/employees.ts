import type {
  AcceptInvitationBody,
  AddOnReply,
  Employee,
  EmployeeUpdateBody,
  Invitation,
  InvitationBody,
  InvitationPreview,
  JoinRequest,
  JoinRequestBody,
  MeReply,
  Role,
  RoleBody,
  SimilarCompany,
} from '@vigil/protocol/api';
import { request } from './api';

const enc = encodeURIComponent;

/** The portal's calls for employees, roles, invitations, join requests and the add-on (protocol/src/api/employees.ts). */
export const employeesApi = {
  list: () => request<{ items: Employee[] }>('GET', '/employees'),
  update: (id: string, body: EmployeeUpdateBody) => request<Employee>('PATCH', `/employees/${enc(id)}`, { body }),
  remove: (id: string) => request<void>('DELETE', `/employees/${enc(id)}`),

  invitations: () => request<{ items: Invitation[] }>('GET', '/employees/invitations'),
  invite: (body: InvitationBody) => request<Invitation>('POST', '/employees/invitations', { body }),
  cancelInvitation: (id: string) => request<void>('DELETE', `/employees/invitations/${enc(id)}`),
  previewInvitation: (token: string) => request<InvitationPreview>('GET', `/invitations/${enc(token)}`),
  acceptInvitation: (token: string, body: AcceptInvitationBody) => request<MeReply>('POST', `/invitations/${enc(token)}/accept`, { body }),

  similarCompanies: (name: string) => request<{ items: SimilarCompany[] }>('GET', '/companies/similar', { query: { name } }),
  applyToJoin: (body: JoinRequestBody) => request<void>('POST', '/join-requests', { body }),
  joinRequests: () => request<{ items: JoinRequest[] }>('GET', '/employees/join-requests'),
  approveJoinRequest: (id: string) => request<Employee>('POST', `/employees/join-requests/${enc(id)}/approve`),
  rejectJoinRequest: (id: string) => request<void>('POST', `/employees/join-requests/${enc(id)}/reject`),

  roles: () => request<{ items: Role[] }>('GET', '/roles'),
  createRole: (body: RoleBody) => request<Role>('POST', '/roles', { body }),
  updateRole: (id: string, body: Partial<RoleBody>) => request<Role>('PATCH', `/roles/${enc(id)}`, { body }),
  removeRole: (id: string) => request<void>('DELETE', `/roles/${enc(id)}`),

  addOn: () => request<AddOnReply>('GET', '/company/employee-addon'),
  orderAddOn: (quantity: number) => request<AddOnReply>('POST', '/company/employee-addon/orders', { body: { quantity } }),
};
