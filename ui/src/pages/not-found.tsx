import { Link } from 'react-router';
import { useTitle } from '../layout';

export function NotFoundPage() {
  useTitle('Not found');
  return (
    <>
      <h1>Not found</h1>
      <p>
        There is no page here. <Link to="/">Go to the overview</Link>.
      </p>
    </>
  );
}
