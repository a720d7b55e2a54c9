// Turns a check (`value → problem | null`) into an antd form rule with a translated message.
import type { Rule } from 'antd/es/form';
import type { TFunction } from 'i18next';

export interface Problem {
  key: string;
  values?: Record<string, unknown>;
}

export function ruleOf<T>(check: (value: T) => Problem | null, t: TFunction): Rule {
  return {
    validator: (_, value: T) => {
      const problem = check(value);
      return problem ? Promise.reject(new Error(t(problem.key, problem.values))) : Promise.resolve();
    },
  };
}

/** Shows the API's `BAD_USER_INPUT` errors at their fields; returns the ones no field took. */
export function applyFieldErrors(
  errors: Record<string, string>,
  fields: readonly string[],
  setFields: (fields: { name: string; errors: string[] }[]) => void,
  rename: Record<string, string> = {},
): Record<string, string> {
  const placed: { name: string; errors: string[] }[] = [];
  const rest: Record<string, string> = {};
  for (const [field, message] of Object.entries(errors)) {
    const name = rename[field] ?? field;
    if (fields.includes(name)) placed.push({ name, errors: [message] });
    else rest[field] = message;
  }
  if (placed.length > 0) setFields(placed);
  return rest;
}
