import { lexicographicSortSchema } from "graphql";
import { builder } from "./builder.js";
import "./types/Agent.js";
import "./types/ApiKey.js";
import "./types/Contact.js";
import "./types/Conversation.js";
import "./types/ConversationActivity.js";
import "./types/ConversationEvent.js";
import "./types/Label.js";
import "./types/Message.js";
import "./types/Node.js";
import "./types/UnreadCountChange.js";
import "./types/UnreadTotals.js";

/** The whole GraphQL schema, sorted so that the printed schema.graphql diffs stay small. */
export const schema = lexicographicSortSchema(builder.toSchema());
