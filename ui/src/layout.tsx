import { useEffect } from 'react';
import { Navigate, NavLink, Outlet, useLocation, useNavigate } from 'react-router';
import { roleAtLeast } from './api/client';
import type { Session } from './api/client';
import { ErrorMessage } from './errors';
import { LiveIndicator, useLiveUpdates } from './live';
import { useSession, useSignOut } from './session';

/** The frame of every signed-in page: navigation, who is signed in, live updates, sign-out. */
export function Layout() {
  const session = useSession();
  const location = useLocation();

  if (session.isPending) return <p className="loading">Loading…</p>;
  if (session.isError) return <ErrorMessage error={session.error} />;
  if (!session.data) {
    const next = location.pathname + location.search;
    return <Navigate to={`/sign-in?next=${encodeURIComponent(next)}`} replace />;
  }
  return <SignedIn session={session.data} />;
}

/** Rendered only once signed in, so the live stream opens with a session. */
function SignedIn({ session }: { session: Session }) {
  const signOut = useSignOut();
  const navigate = useNavigate();
  const live = useLiveUpdates();
  const { account, role } = session;
  return (
    <>
      <header className="top">
        <span className="brand">Junction</span>
        <nav aria-label="Main">
          <NavLink to="/" end>
            Overview
          </NavLink>
          <NavLink to="/jobs">Jobs</NavLink>
          <NavLink to="/events">Events</NavLink>
          <NavLink to="/routes">Routes</NavLink>
          <NavLink to="/schedules">Schedules</NavLink>
          <NavLink to="/connections">Connections</NavLink>
          <NavLink to="/syncs">Syncs</NavLink>
          {/* Webhook endpoints are admin's: other roles get no link to pages the API refuses them. */}
          {roleAtLeast(role, 'admin') && <NavLink to="/webhooks">Webhooks</NavLink>}
          <NavLink to="/reservations">Reservations</NavLink>
          <NavLink to="/projects">Projects</NavLink>
          <NavLink to="/services">Services</NavLink>
        </nav>
        <LiveIndicator state={live} />
        <span className="who">
          {account.name} <span className="role">({role})</span>
        </span>
        <button
          type="button"
          onClick={() => signOut.mutate(undefined, { onSuccess: () => void navigate('/sign-in') })}
          disabled={signOut.isPending}
        >
          Sign out
        </button>
      </header>
      <main>
        <ErrorMessage error={signOut.error} />
        <Outlet />
      </main>
    </>
  );
}

/** Sets the document's title, so each page is told apart in history and by screen readers. */
export function useTitle(title: string) {
  useEffect(() => {
    document.title = `${title} · Junction`;
  }, [title]);
}
