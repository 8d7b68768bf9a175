import { type ContactFilter, MAX_SEARCH_LENGTH, contactFullName, listContacts } from "../../domain/contact-query.js";
import { type ContactFields, type CreateContactInput, MAX_METADATA_BYTES, MAX_NAME_LENGTH, createContact, updateContact } from "../../domain/contacts.js";
import { requireId } from "../../domain/ids.js";
import { type EveryField, builder } from "../builder.js";
import { writeDeps } from "../context.js";
import { ChannelEnum, ContactStatusEnum } from "./enums.js";

export const ContactRef = builder.prismaObject("Contact", {
  description: "A customer the business talks to, on any channel.",
  interfaces: [builder.nodeInterfaceRef()],
  fields: (t) => ({
    id: t.exposeID("id", { description: "The contact's id (cnt_…)." }),
    phone: t.exposeString("phone", { nullable: true, description: "Phone number in E.164 format." }),
    email: t.exposeString("email", { nullable: true, description: "Email address." }),
    firstName: t.exposeString("firstName", { description: "Given name." }),
    lastName: t.exposeString("lastName", { nullable: true, description: "Family name." }),
    fullName: t.string({
      description: "Full name as set, or derived from first and last name when not set.",
      resolve: contactFullName,
    }),
    preferredChannel: t.expose("preferredChannel", { type: ChannelEnum, nullable: true, description: "The channel the contact prefers." }),
    metadata: t.field({
      type: "JSONObject",
      description: "Free-form attributes from the business's systems (customer id, tier, …); {} when none.",
      resolve: (c) => (c.metadata ?? {}) as object,
    }),
    status: t.expose("status", { type: ContactStatusEnum, description: "Whether the contact is active." }),
    createdAt: t.expose("createdAt", { type: "DateTime", description: "When the contact was created." }),
    updatedAt: t.expose("updatedAt", { type: "DateTime", description: "When the contact last changed." }),
    lastContacted: t.expose("lastContacted", {
      type: "DateTime",
      nullable: true,
      description: "When the contact last wrote to the business.",
    }),
  }),
});

const ContactFilterInput = builder.inputRef<ContactFilter>("ContactFilter").implement({
  description: "Narrows a contact list; fields combine with AND.",
  fields: (t) => ({
    search: t.string({ description: `Matches name, email or phone (a substring, whatever its case and accents); at most ${MAX_SEARCH_LENGTH} characters.` }),
    status: t.field({ type: [ContactStatusEnum], description: "Any of these statuses; an empty list matches none." }),
    preferredChannel: t.field({ type: [ChannelEnum], description: "Any of these preferred channels; an empty list matches none." }),
  }) satisfies EveryField<ContactFilter>,
});

export const ContactConnection = builder.connectionObject(
  { type: ContactRef, name: "ContactConnection", description: "A page of contacts." },
  { name: "ContactEdge", description: "A contact in a page, with its cursor." },
);

builder.queryFields((t) => ({
  contact: t.field({
    type: ContactRef,
    nullable: true,
    description: "A contact by id; null when there is none in your workspace.",
    args: { id: t.arg.id({ required: true, description: "The contact's id (cnt_…)." }) },
    resolve: (_root, { id }, ctx, info) => ctx.loaders.contact(info).load(requireId(id, "contact")),
  }),
  contacts: t.connection(
    {
      type: ContactRef,
      description: "The workspace's contacts, newest first.",
      args: { filter: t.arg({ type: ContactFilterInput, description: "Narrows the list." }) },
      resolve: (_root, args, ctx) => listContacts(ctx.db.prisma, ctx.viewer.workspaceId, args),
    },
    ContactConnection,
  ),
}));

const METADATA_LIMIT = `${MAX_METADATA_BYTES / 1024} KB`;

const CreateContactInputRef = builder.inputRef<CreateContactInput>("CreateContactInput").implement({
  description: "A new contact. Phone numbers are E.164 (+ and digits), emails must be valid addresses.",
  fields: (t) => ({
    firstName: t.string({ required: true, description: `Given name (1 to ${MAX_NAME_LENGTH} characters).` }),
    lastName: t.string({ description: "Family name." }),
    fullName: t.string({ description: "Full name, when it is not first and last name joined." }),
    phone: t.field({ type: "PhoneNumber", description: "Phone number in E.164 format, e.g. +351912345678." }),
    email: t.field({ type: "EmailAddress", description: "Email address." }),
    preferredChannel: t.field({ type: ChannelEnum, description: "The channel the contact prefers." }),
    metadata: t.field({ type: "JSONObject", description: `Free-form attributes from your systems (default {}), at most ${METADATA_LIMIT} as JSON.` }),
    status: t.field({ type: ContactStatusEnum, description: "Default ACTIVE." }),
  }) satisfies EveryField<CreateContactInput>,
});

const UpdateContactInputRef = builder.inputRef<ContactFields>("UpdateContactInput").implement({
  description: "Changes to a contact: absent fields stay as they are, null clears a field.",
  fields: (t) => ({
    firstName: t.string({ description: "Given name (may not be cleared)." }),
    lastName: t.string({ description: "Family name." }),
    fullName: t.string({ description: "Full name, when it is not first and last name joined." }),
    phone: t.field({ type: "PhoneNumber", description: "Phone number in E.164 format." }),
    email: t.field({ type: "EmailAddress", description: "Email address." }),
    preferredChannel: t.field({ type: ChannelEnum, description: "The channel the contact prefers." }),
    metadata: t.field({ type: "JSONObject", description: `Replaces the attributes (at most ${METADATA_LIMIT} as JSON); null resets them to {}.` }),
    status: t.field({ type: ContactStatusEnum, description: "Active, inactive or deleted (may not be null)." }),
  }) satisfies EveryField<ContactFields>,
});

builder.mutationFields((t) => ({
  createContact: t.field({
    type: ContactRef,
    nullable: true,
    authScopes: { admin: true },
    description: "Creates a contact (ADMIN).",
    args: { input: t.arg({ type: CreateContactInputRef, required: true, description: "The new contact." }) },
    resolve: (_root, { input }, ctx) => createContact(writeDeps(ctx), ctx.viewer, input),
  }),
  updateContact: t.field({
    type: ContactRef,
    nullable: true,
    authScopes: { admin: true },
    description: "Changes a contact (ADMIN).",
    args: {
      id: t.arg.id({ required: true, description: "The contact's id (cnt_…)." }),
      input: t.arg({ type: UpdateContactInputRef, required: true, description: "The fields to change." }),
      expectedUpdatedAt: t.arg({
        type: "DateTime",
        description: "The updatedAt you last saw: if the contact changed since, the mutation fails with CONFLICT and changes nothing.",
      }),
    },
    resolve: (_root, { id, input, expectedUpdatedAt }, ctx) =>
      updateContact(writeDeps(ctx), ctx.viewer, { id, fields: input, expectedUpdatedAt }),
  }),
}));
