// `npm run db:migrate`: apply db/migrations to DATABASE_URL (or the embedded PGlite) and exit.
import { getDatabase, migrationStatus } from "./client";

const database = await getDatabase();
const status = await migrationStatus(database.db);
console.log(`[db] ${database.backend}: ${status.applied}/${status.expected} migrations applied`);
await database.close();
