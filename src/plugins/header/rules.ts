// The header plugin's rules, compiled to two masks per side: the flags to set and to clear.
// Rules apply in Corefile order, so a later rule on the same flag wins.
import { FLAG_AA, FLAG_RA, FLAG_RD } from '../../dns/constants.ts';

export const HEADER_FLAGS: Record<string, number> = { aa: FLAG_AA, ra: FLAG_RA, rd: FLAG_RD };

export interface FlagMasks {
  set: number;
  clear: number;
}

export function addRule(m: FlagMasks, action: 'set' | 'clear', flag: number): void {
  if (action === 'set') {
    m.set |= flag;
    m.clear &= ~flag;
  } else {
    m.clear |= flag;
    m.set &= ~flag;
  }
}

export function applyMasks(flags: number, m: FlagMasks): number {
  return (flags | m.set) & ~m.clear;
}
