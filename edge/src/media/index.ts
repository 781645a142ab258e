export { MEDIA_WORKER, MediaControl, type MediaControlOptions, type MediaRequest } from './control.js';
export { MediaService } from './service.js';
