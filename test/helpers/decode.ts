// dns-packet's decoder with the fields tests read (its type definitions leave some out).
import dnsPacket from 'dns-packet';

export interface Rec {
  name: string;
  type: string;
  ttl: number;
  class: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  data: any;
  udpPayloadSize?: number;
  extendedRcode?: number;
  ednsVersion?: number;
  flag_do?: boolean;
}

export interface Reply {
  id: number;
  rcode: string;
  opcode: string;
  flags: number;
  flag_qr: boolean;
  flag_aa: boolean;
  flag_tc: boolean;
  flag_rd: boolean;
  flag_ra: boolean;
  flag_cd: boolean;
  questions: Array<{ name: string; type: string; class: string }>;
  answers: Rec[];
  authorities: Rec[];
  additionals: Rec[];
  raw: Buffer;
}

export function decodeReply(raw: Buffer): Reply {
  return Object.assign(dnsPacket.decode(raw) as unknown as Reply, { raw });
}
