// A client token's status from its fields.
export type TokenStatus = 'active' | 'revoked' | 'expired';

export function tokenStatus(token: { enabled: boolean; expired: boolean }): TokenStatus {
  if (!token.enabled) return 'revoked';
  if (token.expired) return 'expired';
  return 'active';
}
