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
