import { readFileSync } from "node:fs";
import { isEnumType, isInputObjectType, isInterfaceType, isObjectType, isScalarType, printSchema } from "graphql";
import { describe, expect, it } from "vitest";
import { schema } from "../src/graphql/schema.js";

describe("schema", () => {
  it("schema.graphql is what the code prints (run `npm run schema` after changing types)", () => {
    const committed = readFileSync(new URL("../schema.graphql", import.meta.url), "utf8");
    expect(committed).toBe(`${printSchema(schema)}\n`);
  });

  it("describes every type, field, argument, input field and enum value", () => {
    const missing: string[] = [];
    for (const type of Object.values(schema.getTypeMap())) {
      if (type.name.startsWith("__") || ["String", "Int", "Float", "Boolean", "ID"].includes(type.name)) continue;
      if (!type.description) missing.push(type.name);
      if (isObjectType(type) || isInterfaceType(type) || isInputObjectType(type)) {
        for (const field of Object.values(type.getFields())) {
          if (!field.description) missing.push(`${type.name}.${field.name}`);
          for (const arg of "args" in field ? field.args : []) {
            if (!arg.description) missing.push(`${type.name}.${field.name}(${arg.name})`);
          }
        }
      }
      if (isEnumType(type) && type.getValues().length === 0) missing.push(`${type.name} (no values)`);
      if (isEnumType(type)) for (const value of type.getValues()) if (!value.description) missing.push(`${type.name}.${value.name}`);
    }
    expect(missing).toEqual([]);
  });

  it("every Node type reads its id straight off the record, with no resolver (one promise per row otherwise)", () => {
    const nodeTypes = Object.values(schema.getTypeMap()).filter((type) => isObjectType(type) && type.getInterfaces().some((i) => i.name === "Node"));
    expect(nodeTypes.map((type) => type.name).sort()).toEqual(["Agent", "Contact", "Conversation", "ConversationActivity", "Message"]);
    const resolved = nodeTypes.filter((type) => isObjectType(type) && type.getFields().id?.resolve !== undefined).map((type) => type.name);
    expect(resolved).toEqual([]);
  });

  it("DateTime leaves the resolver as its ISO string, not a Date for JSON.stringify to call toJSON on", () => {
    const dateTime = schema.getType("DateTime");
    if (!isScalarType(dateTime)) throw new Error("DateTime is not a scalar");
    expect(dateTime.serialize(new Date("2026-12-06T19:30:00.123Z"))).toBe("2026-12-06T19:30:00.123Z");
    expect(dateTime.serialize("2026-12-06T20:30:00.123+01:00")).toBe("2026-12-06T19:30:00.123Z");
  });
});
