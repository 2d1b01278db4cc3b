// Response classes as CoreDNS's log/errors/cache use them: success, denial (NXDOMAIN or
// NODATA), error (everything else).
import { RCODE } from './constants.ts';

export function responseClass(rcode: number, answerCount: number): 'success' | 'denial' | 'error' {
  if (rcode === RCODE.NOERROR) return answerCount > 0 ? 'success' : 'denial';
  if (rcode === RCODE.NXDOMAIN) return 'denial';
  return 'error';
}
