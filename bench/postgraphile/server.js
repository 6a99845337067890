// PostGraphile 4.14.1 peer for make bench-http: serves the same projects
// table under the same RLS policies, as the same runtime role, with the
// tenant context set through pgSettings from a verified RS256 token.
//
// Per request: verify the token (RS256, the same keys, aud and iss as
// pgtenant's cloudflare mode) and sign the context proof app.enter needs
// (HMAC-SHA256 with the current context key, as internal/ctxproof does;
// the key is read once at start through ADMIN_DATABASE_URL). PostGraphile
// then runs BEGIN; app.enter(email, tenant, true, proof) in place of its
// pgSettings set_config statement (the pool's clients swap it: the policies
// read the sealed context app.enter makes in the same transaction, which no
// set_config can forge); the GraphQL query's SQL; COMMIT. A non-member gets
// an empty list (the policies show no rows), not the 404 pgtenant answers.
//
// Environment: DATABASE_URL (runtime role), ADMIN_DATABASE_URL (to read the
// context key), PORT, JWT_PUBLIC_KEY_FILE (PEM), JWT_AUDIENCE, JWT_ISSUER,
// POOL_SIZE (default 8).
"use strict";
const http = require("http");
const fs = require("fs");
const crypto = require("crypto");
const path = require("path");
const modules = path.join(process.env.POSTGRAPHILE_HOME || __dirname, "node_modules");
const { postgraphile } = require(path.join(modules, "postgraphile"));
const jwt = require(path.join(modules, "jsonwebtoken"));
const { Pool } = require(path.join(modules, "pg"));

const poolSize = parseInt(process.env.POOL_SIZE || "8", 10);
const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: poolSize });

// The pool's clients run app.enter in place of PostGraphile's pgSettings
// statement (select set_config($1, $2, true), ...), from the settings
// pgSettings returns.
const connect = pool.connect.bind(pool);
pool.connect = function (cb) {
  if (cb) return connect(cb);
  return connect().then((client) => {
    if (!client.pgtenantWrapped) {
      client.pgtenantWrapped = true;
      const query = client.query.bind(client);
      client.query = function (config, values, callback) {
        if (config && typeof config === "object" && typeof config.text === "string" &&
            config.text.startsWith("select set_config(") && Array.isArray(config.values)) {
          const s = {};
          for (let i = 0; i + 1 < config.values.length; i += 2) s[config.values[i]] = config.values[i + 1];
          if (s["pgtenant.proof"]) {
            return query({ text: "select app.enter($1, $2, true, $3)", values: [s["pgtenant.email"], s["pgtenant.tenant"], s["pgtenant.proof"]] });
          }
        }
        return query(config, values, callback);
      };
    }
    return client;
  });
};

let contextKey = null; // { id, secret }
async function loadContextKey() {
  const admin = new Pool({ connectionString: process.env.ADMIN_DATABASE_URL, max: 1 });
  const { rows } = await admin.query("SELECT id, secret FROM app.context_keys() WHERE not_after IS NULL ORDER BY id DESC LIMIT 1");
  await admin.end();
  if (rows.length === 0) throw new Error("no current context key");
  contextKey = { id: rows[0].id, secret: rows[0].secret };
}

// proof is internal/ctxproof.Sign for a read-only context, valid 60 s.
function proof(email, tenant) {
  const exp = Math.floor(Date.now() / 1000) + 60;
  const msg = "pgtenant-enter-v1|" + Buffer.byteLength(email) + ":" + email + "|" +
    Buffer.byteLength(tenant) + ":" + tenant + "|t|" + exp;
  const mac = crypto.createHmac("sha256", contextKey.secret).update(msg).digest("hex");
  return "v1." + contextKey.id + "." + exp + "." + mac;
}
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
  const email = String(claims.email || "").trim().toLowerCase();
  return { "pgtenant.email": email, "pgtenant.tenant": tenant, "pgtenant.proof": proof(email, tenant) };
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
loadContextKey().then(() => {
  server.listen(parseInt(process.env.PORT, 10), "127.0.0.1", () => {
    console.log("postgraphile listening on 127.0.0.1:" + process.env.PORT);
  });
}, (err) => {
  console.error("postgraphile: reading the context key:", err.message);
  process.exit(1);
});
process.on("SIGTERM", () => server.close(() => { pool.end(); side.end(); process.exit(0); }));
