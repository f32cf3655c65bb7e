// The chart tests: renders helm/verifyd with render.go (helm's template engine) and
//   variants    every values/*.yaml renders, and every object it renders is valid Kubernetes;
//   refusals    values the chart must refuse (schema, required, conflicting settings) fail
//               rendering with a message that says why;
//   properties  what the rendered objects must hold (labels, security, probes, checksums,
//               settings, API versions).
// Usage: node cases.mjs variants|refusals|properties WORK_DIR (WORK_DIR holds the render binary)
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseManifests, validateObject } from "./validate.mjs";

const [group, workDir] = process.argv.slice(2);
const here = fileURLToPath(new URL(".", import.meta.url));
const chartDir = join(here, "../../helm/verifyd");
const valuesDir = join(here, "values");
const scratch = mkdtempSync(join(workDir, "values-"));
let scratchFiles = 0;

// renderChart renders the chart as release "verifyd" in namespace "verifyd", over each
// values source in turn: a file of values/ by name, or an object (written as JSON, which
// is YAML). renderWithoutSchema renders as `helm template --skip-schema-validation`
// does, so that the templates' own checks are what refuses.
function renderChart(...sources) {
  return renderWith([], ...sources);
}

function renderWithoutSchema(...sources) {
  return renderWith(["-skip-schema-validation"], ...sources);
}

function renderWith(flags, ...sources) {
  const args = ["-chart", chartDir, "-name", "verifyd", "-namespace", "verifyd", ...flags];
  for (const source of sources) {
    let file = join(valuesDir, String(source));
    if (typeof source === "object") {
      file = join(scratch, `${scratchFiles++}.yaml`);
      writeFileSync(file, JSON.stringify(source));
    }
    args.push("-f", file);
  }
  const result = spawnSync(join(workDir, "render"), args, { encoding: "utf8" });
  if (result.error) throw result.error;
  return result;
}

function objects(...sources) {
  const result = renderChart(...sources);
  assert.equal(result.status, 0, `rendering failed: ${result.stderr}`);
  return parseManifests(result.stdout).map(({ object }) => object);
}

function find(rendered, kind, name = "verifyd") {
  const found = rendered.find((o) => o.kind === kind && o.metadata.name === name);
  assert.ok(found, `no ${kind} ${name} among ${rendered.map((o) => `${o.kind}/${o.metadata.name}`)}`);
  return found;
}

const container = (deployment) => deployment.spec.template.spec.containers[0];
const env = (deployment, name) => container(deployment).env.find((e) => e.name === name);
const secretData = (secret, key) => Buffer.from(secret.data[key], "base64").toString();
const selects = (selector, labels) => Object.entries(selector).every(([k, v]) => labels[k] === v);

const variantFiles = readdirSync(valuesDir).filter((f) => f.endsWith(".yaml")).sort();

const groups = {
  variants: Object.fromEntries(
    variantFiles.map((file) => [
      file,
      async () => {
        const rendered = objects(file);
        const problems = [];
        for (const object of rendered) {
          for (const problem of await validateObject(object)) {
            problems.push(`${object.kind}/${object.metadata?.name}: ${problem}`);
          }
        }
        assert.ok(problems.length === 0, problems.join("\n"));
        return `${rendered.length} valid objects`;
      },
    ]),
  ),

  refusals: {
    "no hash key and no existingSecret": () =>
      refused([], "execution error at (verifyd/templates/secret.yaml", "hashKey is required"),
    "a code length out of range (schema)": () =>
      refused(["default.yaml", { config: { codeLength: 3 } }], "values don't meet the specifications",
        "config.codeLength: Must be greater than or equal to 4"),
    "a header timeout under a second (schema)": () =>
      refused(["default.yaml", { config: { headerTimeoutMs: 999 } }], "values don't meet the specifications"),
    "the metrics port on the API port": () =>
      refused(["default.yaml", { metricsPort: 8080 }], "metricsPort must differ from containerPort"),
    "an unknown provider (schema)": () =>
      refused(["default.yaml", { provider: "sms" }], "provider: provider must be one of the following"),
    "a misspelt value (schema)": () =>
      refused(["default.yaml", { replicacount: 3 }], "Additional property replicacount is not allowed"),
    "a malformed hash key (schema)": () =>
      refused([{ hashKey: "not-hex" }], "hashKey: Does not match pattern"),
    "a short webhook secret (schema)": () =>
      refused(["default.yaml", { provider: "webhook", webhook: { url: "https://relay.internal/x", secret: "short" } }],
        "webhook.secret: Must validate at least one schema"),
    "provider sent without its API key": () =>
      refused(["default.yaml", { provider: "sent" }], "sent.apiKey is required with provider sent"),
    "provider sent without a base URL": () =>
      refused(["default.yaml", { provider: "sent", sent: { apiKey: "k", baseUrl: "" } }], "sent.baseUrl is required with provider sent"),
    "a malformed blocked prefix in the policy (schema)": () =>
      refused(["default.yaml", { policy: { default: { prefixes: { block: ["4470"] } } } }],
        "policy.default.prefixes.block.0: Does not match pattern"),
    "an unknown guard mode in an account's policy (schema)": () =>
      refused(["default.yaml", { policy: { accounts: { a: { fraud_guard: "maybe" } } } }],
        "policy.accounts.a.fraud_guard: policy.accounts.a.fraud_guard must be one of the following"),
    "an unknown fraud guard mode (schema)": () =>
      refused(["default.yaml", { fraudGuard: { mode: "maybe" } }],
        "fraudGuard.mode: fraudGuard.mode must be one of the following"),
    "a bare on as the guard mode, which YAML reads as true (schema)": () =>
      refused(["default.yaml", { fraudGuard: { mode: true } }], "fraudGuard.mode: Invalid type"),
    "a conversion above 1 (schema)": () =>
      refused(["default.yaml", { fraudGuard: { minConversion: 2 } }],
        "fraudGuard.minConversion: Must be less than or equal to 1"),
    "a negative conversion (schema)": () =>
      refused(["default.yaml", { fraudGuard: { minConversion: -0.1 } }],
        "fraudGuard.minConversion: Must be greater than or equal to 0"),
    "a guard window of zero (schema)": () =>
      refused(["default.yaml", { fraudGuard: { window: 0 } }], "fraudGuard.window: Must be greater than or equal to 10"),
    "a fractional number of sends (schema)": () =>
      refused(["default.yaml", { fraudGuard: { minSends: 2.5 } }], "fraudGuard.minSends: Invalid type"),
    "a guard window over seven days (schema)": () =>
      refused(["default.yaml", { fraudGuard: { window: 604801 } }],
        "fraudGuard.window: Must be less than or equal to 604800"),
    "a settle time not shorter than the guard's window": () =>
      refused(["default.yaml", { fraudGuard: { window: 600, settleSeconds: 600 } }],
        "fraudGuard.settleSeconds (600) must be less than fraudGuard.window (600)"),
    "a settle time not shorter than the default window": () =>
      refused(["default.yaml", { fraudGuard: { settleSeconds: 3600 } }],
        "fraudGuard.settleSeconds (3600) must be less than fraudGuard.window (3600)"),
    "a first pause longer than the 24-hour cap (schema)": () =>
      refused(["default.yaml", { fraudGuard: { blockSeconds: 86401 } }],
        "fraudGuard.blockSeconds: Must be less than or equal to 86400"),
    "a misspelt fraud guard setting (schema)": () =>
      refused(["default.yaml", { fraudGuard: { minConversions: 0.1 } }], "Additional property minConversions is not allowed"),
    "a client IP limit without its window (schema)": () =>
      refused(["default.yaml", { config: { clientIpLimit: "10" } }], "config.clientIpLimit: Does not match pattern"),
    "a client ID limit with a zero-second window (schema)": () =>
      refused(["default.yaml", { config: { clientIdLimit: "10/600,5/0" } }], "config.clientIdLimit: Does not match pattern"),
    "an unknown scope in an API key (schema)": () =>
      refused(["default.yaml", { apiKeys: [{ id: "k", account: "a", hash: "0".repeat(64), mode: "test", scopes: ["verify:all"] }] }],
        "apiKeys.0.scopes.0: apiKeys.0.scopes.0 must be one of the following"),
    "events without their secret": () =>
      refused(["default.yaml", { events: { url: "https://hooks.internal/v" } }],
        "events.secret is required with events.url"),
    "a Sent webhook secret without its whsec_ prefix (schema)": () =>
      refused(["default.yaml", { sent: { webhookSecret: "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" } }],
        "sent.webhookSecret: Must validate at least one schema"),
    "provider webhook without a URL": () =>
      refused(["default.yaml", { provider: "webhook", webhook: { secret: "0123456789abcdef" } }],
        "webhook.url is required with provider webhook"),
    "secrets in values with existingSecret": () =>
      refused(["existing-secret.yaml", { hashKey: "0".repeat(64) }], "existingSecret is set: put the secrets in that Secret"),
    "the bundled Redis with redis.url": () =>
      refused(["bundled-redis.yaml", { redis: { url: "redis://elsewhere:6379/0" } }],
        "redis.enabled runs the bundled Redis"),
    "sentinels without a master name": () =>
      refusedTwice(["default.yaml", { redis: { mode: "sentinel", sentinel: { hosts: ["s:26379"] } } }],
        ["redis.sentinel.masterName: String length must be greater than or equal to 1"],
        "redis.sentinel.masterName is required with redis.mode sentinel"),
    "mode sentinel without sentinels": () =>
      refusedTwice(["default.yaml", { redis: { mode: "sentinel", sentinel: { masterName: "m" } } }],
        ["redis.sentinel.hosts: Array must have at least 1 items"],
        "redis.mode is sentinel: redis.sentinel.hosts needs at least one host:port"),
    "sentinels without mode sentinel": () =>
      refusedTwice(["default.yaml", { redis: { sentinel: { hosts: ["s:26379"], masterName: "m" } } }],
        ["redis.sentinel.hosts: Array must have at most 0 items"],
        "redis.sentinel.hosts is set: set redis.mode: sentinel"),
    "an unknown Redis mode (schema)": () =>
      refused(["default.yaml", { redis: { mode: "replicated" } }], "redis.mode: redis.mode must be one of the following"),
    "cluster mode with redis.url": () =>
      refusedTwice(["cluster.yaml", { redis: { url: "redis://redis-cluster:6379/0" } }],
        ["redis.url: String length must be less than or equal to 0"],
        "redis.mode is cluster: leave redis.url empty"),
    "cluster mode with the bundled Redis": () =>
      refusedTwice(["cluster.yaml", { redis: { enabled: true } }],
        ["redis.enabled: redis.enabled does not match: false"],
        "redis.mode is cluster: redis.enabled (the bundled single Redis) must be false"),
    "cluster mode with sentinels": () =>
      refusedTwice(["cluster.yaml", { redis: { sentinel: { hosts: ["s:26379"], masterName: "m" } } }],
        ["redis.sentinel.hosts: Array must have at most 0 items", "redis.sentinel.masterName: String length must be less than or equal to 0"],
        "redis.mode is cluster: leave redis.sentinel empty"),
    "cluster mode without seed nodes": () =>
      refusedTwice(["default.yaml", { redis: { mode: "cluster" } }],
        ["redis.cluster.nodes: Array must have at least 1 items"],
        "redis.mode is cluster: redis.cluster.nodes needs at least one host:port seed node"),
    "cluster nodes without mode cluster": () =>
      refusedTwice(["default.yaml", { redis: { cluster: { nodes: ["redis-cluster:6379"] } } }],
        ["redis.cluster.nodes: Array must have at most 0 items"],
        "redis.cluster.nodes is set: set redis.mode: cluster"),
    "cluster nodes beside sentinels in mode sentinel": () =>
      refusedTwice(["sentinel.yaml", { redis: { cluster: { nodes: ["redis-cluster:6379"] } } }],
        ["redis.cluster.nodes: Array must have at most 0 items"],
        "redis.mode is sentinel: leave redis.cluster.nodes empty"),
    "partitions out of range, or not a whole number (schema)": () => {
      for (const [partitions, message] of [
        [15, "redis.cluster.partitions: Must be greater than or equal to 16"],
        [4097, "redis.cluster.partitions: Must be less than or equal to 4096"],
        [0, "redis.cluster.partitions: Must be greater than or equal to 16"],
        [256.5, "redis.cluster.partitions: Invalid type. Expected: integer, given: number"],
        ["256", "redis.cluster.partitions: Invalid type. Expected: integer, given: string"],
      ]) {
        refused(["cluster.yaml", { redis: { cluster: { partitions } } }], "values don't meet the specifications", message);
      }
      return "15, 4097, 0, 256.5 and \"256\" refused";
    },
    "malformed cluster nodes (schema)": () => {
      const malformed = ["redis-cluster", "redis-cluster:", ":6379", "redis-cluster:6379,other:6379",
        "redis://redis-cluster:6379", "redis-cluster:0", "redis-cluster:65536", "fd00::7:6379", "redis cluster:6379"];
      for (const node of malformed) {
        refused(["cluster.yaml", { redis: { cluster: { nodes: [node] } } }],
          "values don't meet the specifications", "redis.cluster.nodes.0: Does not match pattern");
      }
      refused(["cluster.yaml", { redis: { cluster: { nodes: ["a:6379", "a:6379"] } } }],
        "redis.cluster.nodes: array items[0,1] must be unique");
      return `${malformed.length} malformed nodes and a repeated one refused`;
    },
    "a misspelt PrometheusRule value (schema)": () =>
      refused(["default.yaml", { prometheusRule: { enable: true } }], "Additional property enable is not allowed"),
    "a dashboard namespace that is not a namespace name (schema)": () =>
      refused(["default.yaml", { grafanaDashboard: { namespace: "Monitoring" } }],
        "grafanaDashboard.namespace: Does not match pattern"),
    "a dashboard label that is not a string, which no Kubernetes label can be (schema)": () =>
      refused(["default.yaml", { grafanaDashboard: { labels: { grafana_dashboard: 1 } } }],
        "grafanaDashboard.labels.grafana_dashboard: Invalid type"),
    "a password in redis.url, where the ConfigMap would show it": () =>
      refused(["default.yaml", { redis: { url: "redis://:hunter2@redis:6379/0" } }], "redis.url must not hold a password"),
    "a Redis password without a redis:// URL": () =>
      refused(["default.yaml", { redis: { password: "secret" } }], "redis.password needs a redis:// redis.url"),
    "a grace period shorter than the drain": () =>
      refused(["default.yaml", { terminationGracePeriodSeconds: 12 }],
        "terminationGracePeriodSeconds must be at least 15"),
    "a PodDisruptionBudget with both bounds": () =>
      refused(["default.yaml", { podDisruptionBudget: { minAvailable: 1 } }],
        "set exactly one of minAvailable and maxUnavailable"),
  },

  properties: {
    "every object carries the standard labels": () => {
      for (const file of variantFiles) {
        for (const object of objects(file)) {
          const labels = object.metadata.labels ?? {};
          for (const label of ["helm.sh/chart", "app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/managed-by"]) {
            assert.ok(labels[label], `${file}: ${object.kind}/${object.metadata.name} has no ${label}`);
          }
          assert.equal(labels["helm.sh/chart"], "verifyd-0.1.0");
          assert.equal(labels["app.kubernetes.io/managed-by"], "Helm");
          if (!object.metadata.name.endsWith("-redis")) {
            assert.equal(labels["app.kubernetes.io/version"], "0.1.0", `${object.kind} app version`);
          }
        }
      }
    },
    "pods run as 10001, read-only, without privileges or capabilities": () => {
      const pod = find(objects("default.yaml"), "Deployment").spec.template.spec;
      assert.equal(pod.securityContext.runAsNonRoot, true);
      assert.equal(pod.securityContext.runAsUser, 10001);
      assert.equal(pod.securityContext.seccompProfile.type, "RuntimeDefault");
      assert.equal(pod.automountServiceAccountToken, false);
      assert.equal(pod.enableServiceLinks, false);
      const security = pod.containers[0].securityContext;
      assert.equal(security.runAsNonRoot, true);
      assert.equal(security.runAsUser, 10001);
      assert.equal(security.readOnlyRootFilesystem, true);
      assert.equal(security.allowPrivilegeEscalation, false);
      assert.deepEqual(security.capabilities.drop, ["ALL"]);
      assert.equal(security.seccompProfile.type, "RuntimeDefault");
      const tmp = pod.containers[0].volumeMounts.find((m) => m.mountPath === "/tmp");
      assert.ok(pod.volumes.find((v) => v.name === tmp.name).emptyDir, "/tmp is an emptyDir");
    },
    "probes: liveness /healthz, readiness /readyz, on the metrics port": () => {
      const verifyd = container(find(objects("default.yaml"), "Deployment"));
      assert.equal(verifyd.livenessProbe.httpGet.path, "/healthz");
      assert.equal(verifyd.readinessProbe.httpGet.path, "/readyz");
      assert.equal(verifyd.livenessProbe.httpGet.port, "metrics");
      assert.equal(verifyd.readinessProbe.httpGet.port, "metrics");
      assert.deepEqual(verifyd.ports, [
        { name: "http", containerPort: 8080, protocol: "TCP" },
        { name: "metrics", containerPort: 9090, protocol: "TCP" },
      ]);
      assert.ok(verifyd.resources.requests && verifyd.resources.limits, "resources are set");
    },
    "selectors: the Deployment, Service, PDB and spread constraints select verifyd's pods only": () => {
      const rendered = objects("bundled-redis.yaml");
      const deployment = find(rendered, "Deployment");
      const podLabels = deployment.spec.template.metadata.labels;
      const redisLabels = find(rendered, "Deployment", "verifyd-redis").spec.template.metadata.labels;
      for (const selector of [
        deployment.spec.selector.matchLabels,
        find(rendered, "Service").spec.selector,
        find(rendered, "PodDisruptionBudget").spec.selector.matchLabels,
        ...deployment.spec.template.spec.topologySpreadConstraints.map((c) => c.labelSelector.matchLabels),
      ]) {
        assert.ok(selects(selector, podLabels), `${JSON.stringify(selector)} selects verifyd's pods`);
        assert.ok(!selects(selector, redisLabels), `${JSON.stringify(selector)} does not select Redis`);
      }
      assert.ok(!selects(find(rendered, "Service", "verifyd-redis").spec.selector, podLabels));
      assert.deepEqual(find(rendered, "Service").spec.ports.map((p) => [p.name, p.targetPort]),
        [["http", "http"], ["metrics", "metrics"]]);
    },
    "settings: ConfigMap as env, secrets as files, the pod name as the delivery consumer": () => {
      const rendered = objects("default.yaml");
      const deployment = find(rendered, "Deployment");
      const verifyd = container(deployment);
      assert.deepEqual(verifyd.envFrom, [{ configMapRef: { name: "verifyd" } }]);
      assert.deepEqual(env(deployment, "VERIFYD_DELIVERY_CONSUMER").valueFrom, { fieldRef: { fieldPath: "metadata.name" } });
      const mount = verifyd.volumeMounts.find((m) => m.name === "secret");
      const volume = deployment.spec.template.spec.volumes.find((v) => v.name === "secret");
      assert.equal(mount.subPath, undefined, "no subPath, so that Secret updates reach the files");
      assert.equal(volume.secret.secretName, "verifyd");
      for (const [variable, key] of [["VERIFYD_HASH_KEY_FILE", "hash.key"], ["VERIFYD_API_KEYS_FILE", "keys.json"]]) {
        assert.equal(env(deployment, variable).value, `${mount.mountPath}/${key}`);
        assert.ok(volume.secret.items.some((item) => item.key === key && item.path === key), `${key} is mounted`);
      }
      const secret = find(rendered, "Secret");
      assert.equal(secretData(secret, "hash.key"), "0123456789abcdef".repeat(4));
      assert.deepEqual(JSON.parse(secretData(secret, "keys.json")), { keys: [] });
      const config = find(rendered, "ConfigMap").data;
      assert.equal(config.VERIFYD_LISTEN, "0.0.0.0:8080");
      assert.equal(config.VERIFYD_METRICS_LISTEN, "0.0.0.0:9090");
      assert.equal(config.VERIFYD_SHUTDOWN_DELAY_MS, "5000");
      assert.ok(Object.keys(config).every((k) => k.startsWith("VERIFYD_")), "only VERIFYD_ settings");
      assert.equal(deployment.spec.template.spec.terminationGracePeriodSeconds, 30);
    },
    "settings: every value becomes its variable, numbers without exponents, zero kept": () => {
      const rendered = objects("sent.yaml");
      const config = find(rendered, "ConfigMap").data;
      assert.deepEqual(config, {
        VERIFYD_LISTEN: "0.0.0.0:8080", VERIFYD_METRICS_LISTEN: "0.0.0.0:9100", VERIFYD_THREADS: "8", VERIFYD_REDIS_URL: "redis://redis.data.svc:6379/0",
        VERIFYD_REDIS_TIMEOUT_MS: "500", VERIFYD_CODE_LENGTH: "8", VERIFYD_CODE_TTL: "300", VERIFYD_MAX_ATTEMPTS: "3",
        VERIFYD_SEND_LIMITS: "3/600,10/86400", VERIFYD_RESEND_COOLDOWN: "0", VERIFYD_EXPIRED_GRACE: "3600",
        VERIFYD_KEY_RPM: "1200", VERIFYD_HEADER_TIMEOUT_MS: "5000", VERIFYD_IDLE_TIMEOUT_MS: "120000",
        VERIFYD_MAX_CONNECTIONS: "1000000", VERIFYD_APP_NAME: "Shop", VERIFYD_SHUTDOWN_DELAY_MS: "10000",
        VERIFYD_PROVIDER: "sent", VERIFYD_SENT_BASE_URL: "https://api.sent.dm", VERIFYD_SENT_TEMPLATE: "shop_otp",
        VERIFYD_SENT_SENDER_PROFILE_ID: "sp_0123", VERIFYD_DELIVERY_MAX_ATTEMPTS: "5", VERIFYD_DELIVERY_TIMEOUT_MS: "10000",
        VERIFYD_DELIVERY_BACKOFF_MS: "1000", VERIFYD_DELIVERY_MAX_BACKOFF_MS: "120000",
        VERIFYD_DELIVERY_CLAIM_IDLE_MS: "1000000", VERIFYD_DELIVERY_WORKERS: "4",
        VERIFYD_EVENTS_URL: "https://hooks.shop.internal/verifyd",
      });
      const secret = find(rendered, "Secret");
      assert.equal(secretData(secret, "VERIFYD_SENT_API_KEY"), "sent-api-key-0123456789");
      assert.equal(secretData(secret, "VERIFYD_SENT_WEBHOOK_SECRET"), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
      assert.equal(secretData(secret, "VERIFYD_EVENTS_SECRET"), "events-secret-0123456789");
      assert.equal(secretData(secret, "VERIFYD_SEAL_KEY"), "fedcba9876543210".repeat(4));
      const deployment = find(rendered, "Deployment");
      assert.deepEqual(env(deployment, "VERIFYD_SENT_API_KEY").valueFrom.secretKeyRef,
        { name: "verifyd", key: "VERIFYD_SENT_API_KEY", optional: false });
      assert.deepEqual(env(deployment, "VERIFYD_EVENTS_SECRET").valueFrom.secretKeyRef,
        { name: "verifyd", key: "VERIFYD_EVENTS_SECRET", optional: false });
      assert.deepEqual(env(deployment, "VERIFYD_SENT_WEBHOOK_SECRET").valueFrom.secretKeyRef,
        { name: "verifyd", key: "VERIFYD_SENT_WEBHOOK_SECRET", optional: true });
      assert.equal(deployment.spec.template.spec.terminationGracePeriodSeconds, 45);
    },
    "policy: a ConfigMap of its own, mounted whole as VERIFYD_POLICY_FILE, outside checksum/config": () => {
      const policy = { default: { countries: { allow: ["*"], block: ["KP"] } },
        accounts: { acct_demo: { countries: { allow: ["US", "GB"] }, prefixes: { block: ["+4470"] } } } };
      const rendered = objects("default.yaml", { policy });
      assert.deepEqual(JSON.parse(find(rendered, "ConfigMap", "verifyd-policy").data["policy.json"]), policy);
      const deployment = find(rendered, "Deployment");
      assert.equal(env(deployment, "VERIFYD_POLICY_FILE").value, "/etc/verifyd/policy/policy.json");
      const mount = container(deployment).volumeMounts.find((m) => m.name === "policy");
      assert.equal(mount.mountPath, "/etc/verifyd/policy");
      assert.equal(mount.subPath, undefined);
      const without = objects("default.yaml");
      assert.equal(without.find((o) => o.metadata.name === "verifyd-policy"), undefined);
      assert.equal(env(find(without, "Deployment"), "VERIFYD_POLICY_FILE"), undefined);
      assert.equal(find(without, "Deployment").spec.template.metadata.annotations["checksum/config"],
        deployment.spec.template.metadata.annotations["checksum/config"]);
    },
    "fraud guard: its settings and the client limits become their variables, a fraction as it is": () => {
      const rendered = objects("fraud-guard.yaml");
      const config = find(rendered, "ConfigMap").data;
      const guard = Object.fromEntries(Object.entries(config).filter(([k]) => /^VERIFYD_(FRAUD|CLIENT)_/.test(k)));
      assert.deepEqual(guard, {
        VERIFYD_FRAUD_GUARD: "monitor", VERIFYD_FRAUD_WINDOW: "7200", VERIFYD_FRAUD_SETTLE_SECONDS: "300",
        VERIFYD_FRAUD_MIN_SENDS: "50", VERIFYD_FRAUD_MIN_CONVERSION: "0.05", VERIFYD_FRAUD_MAX_PENDING: "100",
        VERIFYD_FRAUD_BLOCK_SECONDS: "86400", VERIFYD_CLIENT_IP_LIMIT: "20/3600,100/86400", VERIFYD_CLIENT_ID_LIMIT: "5/600",
      });
      const deployment = find(rendered, "Deployment");
      assert.deepEqual(container(deployment).envFrom, [{ configMapRef: { name: "verifyd" } }], "in the pod's environment");
      const policy = JSON.parse(find(rendered, "ConfigMap", "verifyd-policy").data["policy.json"]);
      assert.equal(policy.default.fraud_guard, "on");
      assert.equal(policy.accounts.acct_shop.fraud_guard, "monitor");
      const keys = JSON.parse(secretData(find(rendered, "Secret"), "keys.json")).keys;
      assert.deepEqual(keys[0].scopes, ["verify:read", "verify:admin"]);
      // null leaves verifyd's own defaults (docs/API.md §6): none of the variables is set.
      const defaults = find(objects("default.yaml"), "ConfigMap").data;
      assert.deepEqual(Object.keys(defaults).filter((k) => /^VERIFYD_(FRAUD|CLIENT)_/.test(k)), []);
      for (const [minConversion, text] of [[0, "0"], [1, "1"], [0.2, "0.2"], [0.125, "0.125"]]) {
        const data = find(objects("default.yaml", { fraudGuard: { minConversion } }), "ConfigMap").data;
        assert.equal(data.VERIFYD_FRAUD_MIN_CONVERSION, text);
      }
      // Environment variables are read at start-up: a change rolls the pods.
      const checksum = (...sources) => find(objects(...sources), "Deployment").spec.template.metadata.annotations["checksum/config"];
      assert.notEqual(checksum("default.yaml", { fraudGuard: { mode: "off" } }), checksum("default.yaml"));
    },
    "settings: log level, countries and message templates": () => {
      const rendered = objects("bundled-redis.yaml");
      const config = find(rendered, "ConfigMap").data;
      assert.equal(config.VERIFYD_LOG_LEVEL, "debug");
      assert.equal(config.VERIFYD_ALLOWED_COUNTRIES, "US,GB,FR");
      assert.equal(config.VERIFYD_PROVIDER, "log");
      assert.equal(config.VERIFYD_REDIS_URL, "redis://verifyd-redis:6379/0");
      const templates = JSON.parse(find(rendered, "ConfigMap", "verifyd-templates").data["templates.json"]);
      assert.equal(templates["pt-BR"], "{{code}} é o seu código {{app_name}}.");
      const deployment = find(rendered, "Deployment");
      const mount = container(deployment).volumeMounts.find((m) => m.name === "templates");
      assert.equal(env(deployment, "VERIFYD_TEMPLATES_FILE").value, `${mount.mountPath}/templates.json`);
      assert.equal(env(deployment, "VERIFYD_REDIS_URL"), undefined, "the bundled Redis needs no secret URL");
    },
    "settings: sentinels, and the passwords only in the Secret, percent-encoded": () => {
      const rendered = objects("sentinel.yaml");
      const config = find(rendered, "ConfigMap").data;
      assert.equal(config.VERIFYD_REDIS_SENTINELS,
        "redis-sentinel-0.redis-sentinel:26379,redis-sentinel-1.redis-sentinel:26379,redis-sentinel-2.redis-sentinel:26379");
      assert.equal(config.VERIFYD_REDIS_MASTER_NAME, "verifyd");
      assert.equal(config.VERIFYD_REDIS_WAIT_REPLICAS, "1");
      assert.equal(config.VERIFYD_REDIS_URL, undefined, "a URL with a password is not in the ConfigMap");
      const secret = find(rendered, "Secret");
      const url = new URL(secretData(secret, "VERIFYD_REDIS_URL"));
      assert.equal(decodeURIComponent(url.password), "p@ss word/+%:");
      assert.equal(`${url.protocol}//${url.host}${url.pathname}`, "redis://master:6379/2");
      assert.equal(secretData(secret, "VERIFYD_REDIS_SENTINEL_PASSWORD"), "sentinel-secret");
      const deployment = find(rendered, "Deployment");
      for (const key of ["VERIFYD_REDIS_URL", "VERIFYD_REDIS_SENTINEL_PASSWORD"]) {
        assert.deepEqual(env(deployment, key).valueFrom.secretKeyRef, { name: "verifyd", key, optional: true });
      }
      assert.doesNotMatch(JSON.stringify(find(rendered, "ConfigMap")), /p@ss|sentinel-secret/);
    },
    "settings: cluster mode gives the pods its seed nodes and partitions, the password only in the Secret": () => {
      const rendered = objects("cluster.yaml");
      const deployment = find(rendered, "Deployment");
      assert.equal(env(deployment, "VERIFYD_REDIS_CLUSTER").value,
        "redis-cluster.redis.svc:6379,redis-cluster-0.redis-cluster-headless.redis.svc:6379,[fd00::7]:6380");
      assert.equal(env(deployment, "VERIFYD_REDIS_PARTITIONS").value, "512");
      const config = find(rendered, "ConfigMap").data;
      for (const name of ["VERIFYD_REDIS_URL", "VERIFYD_REDIS_SENTINELS", "VERIFYD_REDIS_MASTER_NAME",
        "VERIFYD_REDIS_CLUSTER", "VERIFYD_REDIS_PARTITIONS"]) {
        assert.equal(config[name], undefined, `${name} is not in the ConfigMap`);
      }
      assert.equal(config.VERIFYD_REDIS_WAIT_REPLICAS, "1", "WAIT works in every mode");
      const url = new URL(secretData(find(rendered, "Secret"), "VERIFYD_REDIS_URL"));
      assert.equal(decodeURIComponent(url.password), "p@ss word/+%:");
      assert.equal(`${url.protocol}//${url.host}${url.pathname}`, "redis://redis-cluster.redis.svc:6379/0");
      assert.deepEqual(env(deployment, "VERIFYD_REDIS_URL").valueFrom.secretKeyRef,
        { name: "verifyd", key: "VERIFYD_REDIS_URL", optional: true });
      assert.equal(env(deployment, "VERIFYD_REDIS_SENTINEL_PASSWORD"), undefined);
      assert.doesNotMatch(JSON.stringify(find(rendered, "ConfigMap")), /p@ss/);
      assert.doesNotMatch(JSON.stringify(deployment), /p@ss/);
      // Without a password: no URL anywhere; partitions default to 256.
      const bare = objects("default.yaml", { redis: { mode: "cluster", cluster: { nodes: ["redis-cluster:6379"] } } });
      const bareDeployment = find(bare, "Deployment");
      assert.equal(env(bareDeployment, "VERIFYD_REDIS_CLUSTER").value, "redis-cluster:6379");
      assert.equal(env(bareDeployment, "VERIFYD_REDIS_PARTITIONS").value, "256");
      assert.equal(find(bare, "ConfigMap").data.VERIFYD_REDIS_URL, undefined);
      assert.equal(find(bare, "Secret").data.VERIFYD_REDIS_URL, undefined);
      // The other modes have neither variable.
      for (const file of ["default.yaml", "sentinel.yaml", "bundled-redis.yaml", "production.yaml"]) {
        const other = find(objects(file), "Deployment");
        assert.equal(env(other, "VERIFYD_REDIS_CLUSTER"), undefined, file);
        assert.equal(env(other, "VERIFYD_REDIS_PARTITIONS"), undefined, file);
      }
      // A change of the nodes or the partitions changes the pod template: the pods roll.
      const template = (...sources) => JSON.stringify(find(objects(...sources), "Deployment").spec.template);
      assert.notEqual(template("cluster.yaml", { redis: { cluster: { partitions: 1024 } } }), template("cluster.yaml"));
      assert.notEqual(template("cluster.yaml", { redis: { cluster: { nodes: ["other:6379"] } } }), template("cluster.yaml"));
    },
    "settings: cluster mode with existingSecret reads the password's URL from it": () => {
      const rendered = objects("existing-secret.yaml", { redis: { mode: "cluster", url: "", cluster: { nodes: ["redis-cluster:6379"] } } });
      assert.equal(rendered.filter((o) => o.kind === "Secret").length, 0);
      const deployment = find(rendered, "Deployment");
      assert.deepEqual(env(deployment, "VERIFYD_REDIS_URL").valueFrom.secretKeyRef,
        { name: "verifyd-secrets", key: "VERIFYD_REDIS_URL", optional: true });
      assert.equal(env(deployment, "VERIFYD_REDIS_CLUSTER").value, "redis-cluster:6379");
    },
    "existingSecret: no Secret rendered, the pods read the named one": () => {
      const rendered = objects("existing-secret.yaml");
      assert.equal(rendered.filter((o) => o.kind === "Secret").length, 0);
      const deployment = find(rendered, "Deployment");
      const volume = deployment.spec.template.spec.volumes.find((v) => v.name === "secret");
      assert.equal(volume.secret.secretName, "verifyd-secrets");
      assert.deepEqual(env(deployment, "VERIFYD_SENT_API_KEY").valueFrom.secretKeyRef,
        { name: "verifyd-secrets", key: "VERIFYD_SENT_API_KEY", optional: false });
    },
    "checksums: a settings change rolls the pods by checksum/config, a secret change by checksum/secret": () => {
      const annotations = (...sources) => find(objects(...sources), "Deployment").spec.template.metadata.annotations;
      const base = annotations("default.yaml");
      assert.match(base["checksum/config"], /^[0-9a-f]{64}$/);
      assert.match(base["checksum/secret"], /^[0-9a-f]{64}$/);
      const settings = annotations("default.yaml", { config: { codeLength: 8 } });
      assert.notEqual(settings["checksum/config"], base["checksum/config"]);
      assert.equal(settings["checksum/secret"], base["checksum/secret"]);
      const secret = annotations("default.yaml", { hashKey: "f".repeat(64) });
      assert.equal(secret["checksum/config"], base["checksum/config"]);
      assert.notEqual(secret["checksum/secret"], base["checksum/secret"]);
      const same = annotations("default.yaml", { replicaCount: 5 });
      assert.deepEqual(same, base, "a change to neither leaves both");
    },
    "production: HPA autoscaling/v2, PDB policy/v1, NetworkPolicy, ServiceMonitor": () => {
      const rendered = objects("production.yaml");
      const deployment = find(rendered, "Deployment");
      assert.equal(deployment.spec.replicas, undefined, "the HPA owns the replica count");
      const hpa = find(rendered, "HorizontalPodAutoscaler");
      assert.equal(hpa.apiVersion, "autoscaling/v2");
      assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: "apps/v1", kind: "Deployment", name: "verifyd" });
      assert.deepEqual(hpa.spec.metrics.map((m) => m.resource.name), ["cpu", "memory"]);
      const pdb = find(rendered, "PodDisruptionBudget");
      assert.equal(pdb.apiVersion, "policy/v1");
      assert.equal(pdb.spec.minAvailable, "50%");
      assert.equal(pdb.spec.maxUnavailable, undefined);
      const policy = find(rendered, "NetworkPolicy");
      assert.deepEqual(policy.spec.podSelector.matchLabels, deployment.spec.selector.matchLabels);
      assert.deepEqual(policy.spec.policyTypes, ["Ingress", "Egress"]);
      assert.deepEqual(policy.spec.ingress[0].from[0], { podSelector: { matchLabels: { "verifyd-client": "true" } } });
      assert.equal(policy.spec.ingress[0].from.length, 3);
      assert.deepEqual(policy.spec.ingress[1], {
        ports: [{ port: "metrics", protocol: "TCP" }],
        from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } } }],
      });
      assert.equal(policy.spec.egress[0].ports[0].port, 53, "DNS is let out first");
      const testPod = rendered.find((o) => o.kind === "Pod");
      assert.equal(testPod.metadata.labels["verifyd-client"], "true", "the helm test pod is let in");
      const monitor = find(rendered, "ServiceMonitor");
      assert.equal(monitor.apiVersion, "monitoring.coreos.com/v1");
      assert.equal(monitor.metadata.labels.release, "kube-prometheus-stack");
      assert.ok(selects(monitor.spec.selector.matchLabels, find(rendered, "Service").metadata.labels));
      assert.deepEqual(monitor.spec.endpoints[0], { port: "metrics", path: "/metrics", interval: "15s", scrapeTimeout: "10s" });
      const config = find(rendered, "ConfigMap").data;
      assert.equal(config.VERIFYD_REDIS_URL, "redis://verifyd-redis-master.verifyd.svc:6379/0", "redis.url is a template");
      const keys = JSON.parse(secretData(find(rendered, "Secret"), "keys.json")).keys;
      assert.deepEqual(keys.map((k) => k.id), ["key_live_shop", "key_test_shop"]);
      assert.equal(keys[0].requests_per_minute, 1200);
    },
    "monitoring: the PrometheusRule and the dashboard ConfigMap render when enabled, as valid objects": async () => {
      const rendered = objects("default.yaml", { prometheusRule: { enabled: true }, grafanaDashboard: { enabled: true } });
      const rule = find(rendered, "PrometheusRule");
      const dashboard = find(rendered, "ConfigMap", "verifyd-dashboard");
      for (const object of [rule, dashboard]) assert.deepEqual(await validateObject(object), [], `${object.kind} is valid`);
      assert.equal(rule.apiVersion, "monitoring.coreos.com/v1");
      assert.equal(dashboard.metadata.labels.grafana_dashboard, "1", "the sidecar's default label");
      assert.equal(dashboard.metadata.namespace, undefined, "in the release's namespace");
      const only = (values) => objects("default.yaml", values).map((o) => `${o.kind}/${o.metadata.name}`);
      assert.ok(only({ prometheusRule: { enabled: true } }).includes("PrometheusRule/verifyd"));
      assert.ok(!only({ prometheusRule: { enabled: true } }).includes("ConfigMap/verifyd-dashboard"));
      assert.ok(only({ grafanaDashboard: { enabled: true } }).includes("ConfigMap/verifyd-dashboard"));
      assert.ok(!only({ grafanaDashboard: { enabled: true } }).includes("PrometheusRule/verifyd"));
    },
    "monitoring: the dashboard is files/dashboard.json, JSON whose every panel queries the chosen data source": () => {
      const rendered = objects("production.yaml");
      const configMap = find(rendered, "ConfigMap", "verifyd-dashboard");
      assert.equal(configMap.metadata.namespace, "monitoring");
      assert.equal(configMap.metadata.annotations.grafana_folder, "verifyd");
      assert.equal(configMap.metadata.labels.grafana_dashboard, "1");
      assert.deepEqual(Object.keys(configMap.data), ["verifyd.json"]);
      const text = configMap.data["verifyd.json"];
      assert.equal(text, readFileSync(join(chartDir, "files/dashboard.json"), "utf8").trimEnd(), "the file, unchanged");
      const dashboard = JSON.parse(text);
      assert.equal(dashboard.uid, "verifyd");
      const panels = dashboard.panels.filter((p) => p.type !== "row");
      assert.ok(panels.length >= 20, `${panels.length} panels`);
      for (const panel of panels) {
        assert.ok(panel.targets.length > 0, `${panel.title} has queries`);
        assert.equal(panel.datasource.uid, "${datasource}", `${panel.title} uses the data source variable`);
        for (const { expr } of panel.targets) {
          for (const [selector] of expr.matchAll(/verifyd_[a-z0-9_]+(\{[^}]*\})?/g)) {
            assert.match(selector, /\{namespace=~"\$namespace", job=~"\$job"/,
              `${panel.title}: ${selector} is narrowed to the chosen namespace and job`);
          }
        }
      }
      const ids = dashboard.panels.map((p) => p.id);
      assert.equal(new Set(ids).size, ids.length, "panel ids are unique");
      assert.deepEqual(dashboard.templating.list.map((v) => v.name), ["datasource", "namespace", "job"]);
    },
    "monitoring: the PrometheusRule is files/alerts.yaml, each alert with a severity, summary, description and runbook": () => {
      const rule = find(objects("production.yaml"), "PrometheusRule");
      assert.equal(rule.metadata.labels.release, "kube-prometheus-stack");
      assert.deepEqual(rule.spec, parseManifests(readFileSync(join(chartDir, "files/alerts.yaml"), "utf8"))[0].object);
      const alerts = rule.spec.groups.flatMap((g) => g.rules);
      assert.deepEqual(alerts.map((a) => a.alert), [
        "VerifydRedisUnreachable", "VerifydOutboxBacklogGrowing", "VerifydEventBacklogGrowing",
        "VerifydDeliveryFailureRatioHigh", "VerifydConversionCollapse", "VerifydFraudPauseStarted",
        "VerifydErrorBudgetBurnFast", "VerifydErrorBudgetBurnSlow",
      ]);
      for (const alert of alerts) {
        assert.match(alert.labels.severity, /^(critical|warning|info)$/, alert.alert);
        for (const key of ["summary", "description", "runbook"]) {
          assert.ok(alert.annotations[key]?.length > 20, `${alert.alert} has a ${key}`);
        }
        assert.match(alert.annotations.runbook, /Check: .*Do: /s, `${alert.alert}'s runbook says what to check and do`);
        const groupings = [...alert.expr.matchAll(/by \(([^)]*)\)/g)].map((m) => m[1]);
        assert.ok(groupings.length > 0 && groupings.every((g) => g.startsWith("namespace, job")),
          `${alert.alert} alerts per release: ${groupings}`);
      }
    },
    "optional objects are off by default": () => {
      const kinds = objects("default.yaml").map((o) => o.kind).sort();
      assert.deepEqual(kinds, ["ConfigMap", "Deployment", "Pod", "PodDisruptionBudget", "Secret", "Service", "ServiceAccount"]);
    },
  },
};

function refused(sources, ...expected) {
  refusedBy(renderChart(...sources), expected);
}

// The same refusal twice: by values.schema.json (its message names the value), and by the
// templates alone with the schema skipped (their message says why).
function refusedTwice(sources, bySchema, byTemplates) {
  refusedBy(renderChart(...sources), ["values don't meet the specifications", ...bySchema]);
  refusedBy(renderWithoutSchema(...sources), [byTemplates]);
}

function refusedBy(result, expected) {
  assert.notEqual(result.status, 0, "rendering succeeded");
  for (const text of expected) assert.ok(result.stderr.includes(text), `expected "${text}" in: ${result.stderr}`);
}

const cases = groups[group];
if (!cases) {
  console.error(`usage: node cases.mjs ${Object.keys(groups).join("|")} WORK_DIR`);
  process.exit(2);
}
let failures = 0;
for (const [name, run] of Object.entries(cases)) {
  try {
    const note = await run();
    console.log(`ok - ${name}${note ? `: ${note}` : ""}`);
  } catch (error) {
    failures++;
    console.log(`not ok - ${name}\n  ${String(error.message).replaceAll("\n", "\n  ")}`);
  }
}
rmSync(scratch, { recursive: true });
process.exit(failures ? 1 : 0);
