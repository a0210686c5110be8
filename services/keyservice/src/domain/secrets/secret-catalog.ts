import { secretRepository, type Db, type SecretRow } from '@byok/store';

/** A stored secret's metadata row (the value stays sealed in its versions). */
export type SecretRecord = SecretRow;

/** Read side of tenant secrets: metadata only, never values (those go through SecretService.reveal). */
export class SecretCatalog {
  constructor(private readonly db: Db) {}

  /** One page of the tenant's secrets by name, after `cursor`; `nextCursor` when more follow. */
  async page(
    tenantId: string,
    cursor: string | undefined,
    limit: number,
  ): Promise<{ rows: SecretRow[]; nextCursor: string | null }> {
    const rows = await secretRepository.list(this.db, tenantId, {
      ...(cursor ? { after: cursor } : {}),
      limit: limit + 1,
    });
    const page = rows.slice(0, limit);
    return { rows: page, nextCursor: rows.length > limit ? (page.at(-1)?.name ?? null) : null };
  }

  /** One secret's metadata, or undefined. */
  get(tenantId: string, name: string): Promise<SecretRow | undefined> {
    return secretRepository.get(this.db, tenantId, name);
  }
}
