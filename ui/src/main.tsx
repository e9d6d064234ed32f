import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { createBrowserRouter, RouterProvider } from 'react-router';
import { ApiError } from './api/client';
import { Layout } from './layout';
import { EventsPage } from './pages/events';
import { EventPage } from './pages/events-detail';
import { ConnectionsPage } from './pages/connections';
import { JobPage } from './pages/job';
import { JobsPage } from './pages/jobs';
import { NotFoundPage } from './pages/not-found';
import { OverviewPage } from './pages/overview';
import { RoutesPage } from './pages/routes';
import { RoutePage } from './pages/routes-form';
import { SchedulesPage } from './pages/schedules';
import { SchedulePage } from './pages/schedules-form';
import { FeaturePage } from './pages/projects-feature';
import { ProjectPage, ProjectsPage } from './pages/projects';
import { ReservationsPage } from './pages/reservations';
import { OperationPage, OperationsPage } from './pages/reservations-operations';
import { ReservationRequestPage } from './pages/reservations-request';
import { ServicePage, ServicesPage } from './pages/services';
import { SignInPage } from './pages/sign-in';
import { WebhooksPage } from './pages/webhooks';
import { WebhookDeliveryPage } from './pages/webhooks-delivery';
import { WebhookEndpointPage } from './pages/webhooks-endpoint';
import { NewWebhookPage } from './pages/webhooks-new';
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
        { path: 'events', element: <EventsPage /> },
        { path: 'events/:id', element: <EventPage /> },
        { path: 'routes', element: <RoutesPage /> },
        { path: 'routes/new', element: <RoutePage /> },
        { path: 'routes/:id', element: <RoutePage /> },
        { path: 'schedules', element: <SchedulesPage /> },
        { path: 'schedules/new', element: <SchedulePage /> },
        { path: 'schedules/:id', element: <SchedulePage /> },
        { path: 'webhooks', element: <WebhooksPage /> },
        { path: 'webhooks/new', element: <NewWebhookPage /> },
        { path: 'webhooks/:id', element: <WebhookEndpointPage /> },
        { path: 'webhook-deliveries/:id', element: <WebhookDeliveryPage /> },
        { path: 'reservations', element: <ReservationsPage /> },
        { path: 'reservations/requests/:id', element: <ReservationRequestPage /> },
        { path: 'reservations/operations', element: <OperationsPage /> },
        { path: 'reservations/operations/:id', element: <OperationPage /> },
        { path: 'projects', element: <ProjectsPage /> },
        { path: 'projects/:id', element: <ProjectPage /> },
        { path: 'projects/:id/features/:featureId', element: <FeaturePage /> },
        { path: 'services', element: <ServicesPage /> },
        { path: 'services/:projectId/:serviceId', element: <ServicePage /> },
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
