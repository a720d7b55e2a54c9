// GraphQL and network errors turned into sentences (never raw JSON), and the field errors of
// `BAD_USER_INPUT` answers for forms.
import type { CombinedError } from 'urql';
import type { TFunction } from 'i18next';

/** One GraphQL error as the API sends it. */
export interface ApiError {
  message: string;
  code?: string;
  field?: string;
}

/** The API errors inside an urql error (or a plain Error), in order. */
export function apiErrors(error: unknown): ApiError[] {
  if (!error) return [];
  const combined = error as Partial<CombinedError>;
  if (Array.isArray(combined.graphQLErrors) && combined.graphQLErrors.length > 0) {
    return combined.graphQLErrors.map((e) => {
      const ext = (e.extensions ?? {}) as { code?: unknown; field?: unknown };
      return {
        message: e.message,
        code: typeof ext.code === 'string' ? ext.code : undefined,
        field: typeof ext.field === 'string' ? ext.field : undefined,
      };
    });
  }
  if (combined.networkError) {
    return [{ message: combined.networkError.message, code: 'NETWORK' }];
  }
  if (error instanceof Error) return [{ message: error.message }];
  return [{ message: String(error) }];
}

/** The API's message without the `field: ` prefix the server puts in front of it. */
export function bareMessage(error: ApiError): string {
  if (error.field && error.message.startsWith(`${error.field}: `)) {
    return error.message.slice(error.field.length + 2);
  }
  return error.message;
}

/** One sentence for one API error, by its `extensions.code`. */
export function errorSentence(error: ApiError, t: TFunction): string {
  const message = bareMessage(error);
  switch (error.code) {
    case 'BAD_USER_INPUT':
      return error.field
        ? t('error.badInputField', { field: error.field, message })
        : t('error.badInput', { message });
    case 'UNAUTHENTICATED':
      return t('error.unauthenticated');
    case 'NOT_FOUND':
      return t('error.notFound', { message });
    case 'CONFLICT':
      return t('error.conflict', { message });
    case 'RATE_LIMITED':
      return t('error.rateLimited', { message });
    case 'INTERNAL':
      return t('error.internal');
    case 'NETWORK':
      return t('error.network');
    case 'GRAPHQL_PARSE_FAILED':
    case 'GRAPHQL_VALIDATION_FAILED':
    case 'BAD_REQUEST':
      return t('error.invalidRequest', { message });
    default:
      return t('error.other', { message });
  }
}

/** Every error of `error` as one text. */
export function describeError(error: unknown, t: TFunction): string {
  return apiErrors(error)
    .map((e) => errorSentence(e, t))
    .join(' ');
}

/** A field's message as a sentence under its label: `is wrong` → `Is wrong.` */
export function asFieldSentence(message: string): string {
  const text = message.trim();
  if (!text) return text;
  const first = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(first) ? first : `${first}.`;
}

/** `BAD_USER_INPUT` errors by field name (the message without its prefix, as a sentence). */
export function fieldErrors(error: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of apiErrors(error)) {
    if (e.code === 'BAD_USER_INPUT' && e.field && !(e.field in out)) out[e.field] = asFieldSentence(bareMessage(e));
  }
  return out;
}

/** Whether the server refused the session. */
export function isUnauthenticated(error: unknown): boolean {
  return apiErrors(error).some((e) => e.code === 'UNAUTHENTICATED');
}
