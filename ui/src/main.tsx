import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { createBrowserRouter, RouterProvider } from 'react-router';
import { ApiError } from './api/client';
import { Layout } from './layout';
import { ConnectionsPage } from './pages/connections';
import { JobPage } from './pages/job';
import { JobsPage } from './pages/jobs';
import { NotFoundPage } from './pages/not-found';
import { OverviewPage } from './pages/overview';
import { SignInPage } from './pages/sign-in';
import { SyncRunPage } from './pages/syncs-run';
import { SyncsPage } from './pages/syncs';
import './styles.css';

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      // A refused request is not retried: it would be refused again.
      retry: (count, error) => !(error instanceof ApiError && error.status < 500) && count < 2,
      refetchOnWindowFocus: true,
    },
  },
});

const router = createBrowserRouter(
  [
    { path: '/sign-in', element: <SignInPage /> },
    {
      element: <Layout />,
      children: [
        { index: true, element: <OverviewPage /> },
        { path: 'jobs', element: <JobsPage /> },
        { path: 'jobs/:id', element: <JobPage /> },
        { path: 'connections', element: <ConnectionsPage /> },
        // The forms carry rjsf and ajv: loaded only when a form page opens.
        {
          path: 'connections/new',
          lazy: async () => ({ Component: (await import('./pages/connections-new')).NewConnectionPage }),
        },
        {
          path: 'connections/:id',
          lazy: async () => ({ Component: (await import('./pages/connections-detail')).ConnectionPage }),
        },
        { path: 'syncs', element: <SyncsPage /> },
        { path: 'syncs/runs/:id', element: <SyncRunPage /> },
        { path: '*', element: <NotFoundPage /> },
      ],
    },
  ],
  { basename: '/ui' },
);

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <RouterProvider router={router} />
    </QueryClientProvider>
  </StrictMode>,
);
