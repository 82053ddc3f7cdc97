import { randomUUID } from 'node:crypto';

const SAFE_ID = /^[\w.:-]{1,200}$/;

/** Keeps the caller's request id when it is a sane token, so traces join up; otherwise makes one. */
export function requestIdFrom(value: string | string[] | undefined): string {
  return typeof value === 'string' && SAFE_ID.test(value) ? value : randomUUID();
}
