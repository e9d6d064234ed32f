import { Accounts1764021600000 } from './1764021600000-accounts.js';

/** Every migration, oldest first. A new migration is added here as well as in its own file. */
export const MIGRATIONS = [Accounts1764021600000];
