import { Accounts1764021600000 } from './1764021600000-accounts.js';
import { Jobs1764025200000 } from './1764025200000-jobs.js';
import { Events1764111600000 } from './1764111600000-events.js';
import { Reservations1764198000000 } from './1764198000000-reservations.js';
import { Connections1764284400000 } from './1764284400000-connections.js';
import { AttemptDeferred1764370800000 } from './1764370800000-attempt-deferred.js';
import { PollCursors1764457200000 } from './1764457200000-poll-cursors.js';
import { WebhookSecrets1764543600000 } from './1764543600000-webhook-secrets.js';
import { Webhooks1764630000000 } from './1764630000000-webhooks.js';
import { OAuth1764716400000 } from './1764716400000-oauth.js';
import { Syncs1764802800000 } from './1764802800000-syncs.js';
import { SyncSettings1764889200000 } from './1764889200000-sync-settings.js';
import { SyncSeen1764975600000 } from './1764975600000-sync-seen.js';
import { Projects1765062000000 } from './1765062000000-projects.js';
import { ProjectRecords1765148400000 } from './1765148400000-project-records.js';
import { Provisioning1765234800000 } from './1765234800000-provisioning.js';
import { ConsoleSessions1765321200000 } from './1765321200000-console-sessions.js';
import { JobTraceParent1765324800000 } from './1765324800000-job-trace-parent.js';
import { WebhookPreviousSecrets1765332000000 } from './1765332000000-webhook-previous-secrets.js';
import { SyncRunResume1765335600000 } from './1765335600000-sync-run-resume.js';

/** Every migration, oldest first. A new migration is added here as well as in its own file. */
export const MIGRATIONS = [
  Accounts1764021600000,
  Jobs1764025200000,
  Events1764111600000,
  Reservations1764198000000,
  Connections1764284400000,
  AttemptDeferred1764370800000,
  PollCursors1764457200000,
  WebhookSecrets1764543600000,
  Webhooks1764630000000,
  OAuth1764716400000,
  Syncs1764802800000,
  SyncSettings1764889200000,
  SyncSeen1764975600000,
  Projects1765062000000,
  ProjectRecords1765148400000,
  Provisioning1765234800000,
  ConsoleSessions1765321200000,
  JobTraceParent1765324800000,
  WebhookPreviousSecrets1765332000000,
  SyncRunResume1765335600000,
];
