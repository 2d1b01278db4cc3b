// metadata (worker side): enables the block's registry; it answers nothing itself.
import type { Handler, WorkerEnv } from '../../plugin/types.ts';

export interface MetadataConfig {
  zones: string[];
}

export default function create(config: MetadataConfig, env: WorkerEnv): Handler {
  env.metadata?.enable(config.zones);
  return {};
}
