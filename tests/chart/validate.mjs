// Validates the objects a chart renders against Kubernetes' OpenAPI schemas, through the
// kubernetes-models packages (ServiceMonitor: @kubernetes-models/prometheus-operator).
// Beyond their checks it refuses fields the schema does not know (a typo such as
// `readinessprobe` would otherwise pass, and the API server would drop it).
import { parseAllDocuments } from "yaml";

// Where the model of each apiVersion lives.
const packages = {
  "monitoring.coreos.com/v1": "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1",
};
const modulePath = (apiVersion) => packages[apiVersion] ?? `kubernetes-models/${apiVersion}`;

// parseManifests reads multi-document YAML as the API server does (YAML 1.1, duplicate
// keys refused) into objects, each with the template it came from.
export function parseManifests(text) {
  const objects = [];
  for (const document of parseAllDocuments(text, { version: "1.1" })) {
    if (document.errors.length) throw new Error(`YAML: ${document.errors.join("; ")}`);
    const source = /^ ?Source: (.*)$/m.exec(document.contents?.commentBefore ?? "")?.[1] ?? "?";
    const object = document.toJS();
    if (object === null || typeof object !== "object") throw new Error(`${source}: not an object`);
    objects.push({ source, object });
  }
  return objects;
}

// validateObject returns the problems of one object; none means it is valid.
export async function validateObject(object) {
  const { apiVersion, kind } = object;
  let Model;
  try {
    Model = (await import(modulePath(apiVersion)))[kind];
  } catch {
    // an apiVersion without models: Model stays undefined
  }
  if (!Model) return [`${apiVersion} ${kind}: no schema known for it`];
  const reads = new WeakMap();
  const enumerated = new WeakSet();
  try {
    Model.prototype.validate.call(watch(object, reads, enumerated));
  } catch (error) {
    return [error.message];
  }
  return unknownFields(object, reads, enumerated, "");
}

// watch wraps an object so that every property the validator reads is recorded, and
// objects it enumerates (maps such as labels, whose keys are free) are marked.
function watch(value, reads, enumerated) {
  if (value === null || typeof value !== "object") return value;
  if (!reads.has(value)) reads.set(value, new Set());
  return new Proxy(value, {
    get(target, key, receiver) {
      if (typeof key === "string") reads.get(target).add(key);
      return watch(Reflect.get(target, key, receiver), reads, enumerated);
    },
    ownKeys(target) {
      enumerated.add(target);
      return Reflect.ownKeys(target);
    },
  });
}

// unknownFields lists the keys of objects the validator never read: fields its schema
// does not have.
function unknownFields(value, reads, enumerated, path) {
  if (value === null || typeof value !== "object") return [];
  const problems = [];
  for (const [key, item] of Object.entries(value)) {
    const itemPath = Array.isArray(value) ? `${path}[${key}]` : `${path}.${key}`;
    if (!Array.isArray(value) && !enumerated.has(value) && !reads.get(value)?.has(key)) {
      problems.push(`${itemPath.slice(1)}: unknown field`);
    } else {
      problems.push(...unknownFields(item, reads, enumerated, itemPath));
    }
  }
  return problems;
}
