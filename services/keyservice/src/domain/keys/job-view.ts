import type { JobRow } from '@byok/store';

/** A job as the API shows it. */
export interface JobView {
  id: string;
  kind: string;
  state: string;
  done: number;
  total: number;
  /** Records per second since the job started (until it finished). */
  rate: number;
  errors: number;
  lastError: string | null;
  targetVersion: number;
  startedAt: string;
  updatedAt: string;
  finishedAt: string | null;
}

/** The API form of a job row. */
export function jobView(j: JobRow): JobView {
  const seconds = Math.max(0.001, ((j.finishedAt ?? j.updatedAt).getTime() - j.startedAt.getTime()) / 1000);
  return {
    id: j.id,
    kind: j.kind,
    state: j.state,
    done: j.done,
    total: j.total,
    rate: Math.round((j.done / seconds) * 10) / 10,
    errors: j.errors,
    lastError: j.lastError,
    targetVersion: j.targetVersion,
    startedAt: j.startedAt.toISOString(),
    updatedAt: j.updatedAt.toISOString(),
    finishedAt: j.finishedAt ? j.finishedAt.toISOString() : null,
  };
}
