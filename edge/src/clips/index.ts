export { CLIPS_WORKER, ClipControl, clipsConfigProblem, type ClipControlOptions, type ClipsRequest } from './control.js';
export { ClipService, type ClipServiceConfig, type ClipServiceOptions, type ClipUploadTarget, type ResolvedClipChannel } from './service.js';
export { inSchedule, scheduleProblem } from './schedule.js';
