// Ids as the database makes them: an id that is not a UUID names nothing (answer 404 without a query that
// PostgreSQL would reject with a type error).
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
