import type { ReactNode } from 'react';

/** One field of a summary, its label and value; null for a field not shown. */
export type SummaryItem = readonly [label: string, value: ReactNode] | null;

/** A record's fields as a description list: each label with its value. */
export function Summary({ items }: { items: SummaryItem[] }) {
  return (
    <dl className="summary">
      {items.map(
        (item) =>
          item && (
            <div key={item[0]}>
              <dt>{item[0]}</dt>
              <dd>{item[1]}</dd>
            </div>
          ),
      )}
    </dl>
  );
}

/**
 * A status or state as a badge: its class follows the value, so every page colours it alike;
 * `label` words it for people when the value itself is not meant to be read.
 */
export function StatusBadge({
  children,
  label,
  testId,
}: {
  children: string;
  label?: string;
  testId?: string;
}): ReactNode {
  return (
    <span className={`status status-${children}`} data-testid={testId}>
      {label ?? children}
    </span>
  );
}
