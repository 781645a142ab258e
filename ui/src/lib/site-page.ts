import { ApiError } from './api';

/**
 * Whether a site page's load failed because the site is not there (or not the caller's); the page is then titled so
 * and shows its not-found view. Any other failure is the page's to show.
 */
export function siteNotFound(e: unknown, ontitle?: (title: string) => void): boolean {
  if (!(e instanceof ApiError && e.code === 'SITE_NOT_FOUND')) return false;
  ontitle?.('Site not found');
  return true;
}
