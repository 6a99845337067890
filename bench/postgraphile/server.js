// PostGraphile 4.14.1 peer for make bench-http: serves the same projects
// table under the same RLS policies, as the same runtime role, with the
// tenant context set through pgSettings from a verified RS256 token.
//
// Per request: verify the token (RS256, the same keys, aud and iss as
// pgtenant's cloudflare mode), resolve user, membership and role with
// app.enter (the check pgtenant runs in its pipeline; here one extra round
// trip on a side pool), then PostGraphile runs BEGIN; set_config(...);
// the GraphQL query's SQL; COMMIT.
//
// Environment: DATABASE_URL (runtime role), PORT, JWT_PUBLIC_KEY_FILE (PEM),
// JWT_AUDIENCE, JWT_ISSUER, POOL_SIZE (default 8).
"use strict";
const http = require("http");
const fs = require("fs");
const path = require("path");
const modules = path.join(process.env.POSTGRAPHILE_HOME || __dirname, "node_modules");
const { postgraphile } = require(path.join(modules, "postgraphile"));
const jwt = require(path.join(modules, "jsonwebtoken"));
const { Pool } = require(path.join(modules, "pg"));

const poolSize = parseInt(process.env.POOL_SIZE || "8", 10);
const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: poolSize });
const side = new Pool({ connectionString: process.env.DATABASE_URL, max: poolSize });
const publicKey = fs.readFileSync(process.env.JWT_PUBLIC_KEY_FILE);
const verifyOptions = {
  algorithms: ["RS256"],
  audience: process.env.JWT_AUDIENCE,
  issuer: process.env.JWT_ISSUER,
};

class HttpError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function pgSettings(req) {
  const auth = req.headers["authorization"] || "";
  const token = auth.startsWith("Bearer ") ? auth.slice(7) : "";
  let claims;
  try {
    claims = jwt.verify(token, publicKey, verifyOptions);
  } catch (e) {
    throw new HttpError(401, "unauthenticated");
  }
  const tenant = String(req.headers["x-tenant-id"] || "");
  const { rows } = await side.query(
    "SELECT user_id, tenant_id, role FROM app.enter($1, $2, true)", [claims.email, tenant]);
  if (rows.length === 0 || rows[0].tenant_id === null) {
    throw new HttpError(404, "tenant not found");
  }
  return {
    "app.user_email": String(claims.email).toLowerCase(),
    "app.user_id": rows[0].user_id,
    "app.tenant_id": rows[0].tenant_id,
    "app.role": rows[0].role,
    "transaction_read_only": "on",
  };
}

const middleware = postgraphile(pool, "public", {
  pgSettings,
  disableQueryLog: true,
  ignoreRBAC: false,
  setofFunctionsContainNulls: false,
  retryOnInitFail: false,
  graphiql: false,
  enableQueryBatching: false,
  handleErrors: (errors) => errors.map((e) => ({ message: e.message })),
});

const server = http.createServer((req, res) => {
  middleware(req, res, (err) => {
    res.statusCode = (err && err.status) || 404;
    res.end();
  });
});
server.keepAliveTimeout = 120000;
server.listen(parseInt(process.env.PORT, 10), "127.0.0.1", () => {
  console.log("postgraphile listening on 127.0.0.1:" + process.env.PORT);
});
process.on("SIGTERM", () => server.close(() => { pool.end(); side.end(); process.exit(0); }));
