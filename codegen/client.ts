/**
 * What a frontend team writes with Apollo Client and the generated documents (codegen.yml). Only
 * type-checked, under strict (tsconfig.json here): it fails to compile if DateTimeISO comes out as
 * anything but string, if a lookup stops being nullable, or if the generated types drift from the
 * committed SDL. Never run.
 */
import { ApolloClient, HttpLink, InMemoryCache } from '@apollo/client';
import {
  AuditPageDocument,
  CreateCredentialDocument,
  CredentialPageDocument,
  CredentialsBackwardDocument,
  NodeByIdDocument,
  type UserErrorCode,
} from './generated/graphql';

/** Compiles only when A and B are the same type (not merely assignable: `any` fails too). */
type Exact<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const assert = <T extends true>(): T => true as T;

export const client = new ApolloClient({
  link: new HttpLink({ uri: '/graphql', headers: { 'content-type': 'application/json' } }),
  // Node: every Node type is normalised on __typename + id.
  cache: new InMemoryCache({ possibleTypes: { Node: ['ApiToken', 'Credential', 'Gateway', 'Tenant'] } }),
});

export async function credentialPage(id: string): Promise<string> {
  const { data } = await client.query({ query: CredentialPageDocument, variables: { id } });
  if (!data) return 'no data';
  const credential = data.credential;
  assert<Exact<typeof credential, NonNullable<typeof credential> | null>>(); // a lookup is nullable
  if (!credential) return `not found (viewer ${data.viewer.role} still here)`;
  assert<Exact<typeof credential.createdAt, string>>();
  assert<Exact<typeof credential.revokedAt, string | null>>();
  const checked: string | undefined = credential.lastValidation?.checkedAt;
  return `${credential.label} created ${new Date(credential.createdAt).toISOString()} ${checked ?? ''}`;
}

export async function backward(tenantId: string, before: string | null): Promise<number> {
  const { data } = await client.query({ query: CredentialsBackwardDocument, variables: { tenantId, before } });
  const page = data?.credentials;
  if (!page) return 0;
  assert<Exact<typeof page.totalCount, number>>();
  assert<Exact<typeof page.pageInfo.startCursor, string | null>>();
  return page.edges.filter((e) => e.node.createdAt.length > 0).length + page.totalCount;
}

export async function node(id: string): Promise<string> {
  const { data } = await client.query({ query: NodeByIdDocument, variables: { id } });
  const found = data?.node;
  if (!found) return 'null: missing or not this tenant';
  switch (found.__typename) {
    case 'Credential':
      assert<Exact<typeof found.updatedAt, string>>();
      return found.label;
    case 'Gateway':
      return `${found.slug} ${found.pulledAt ?? 'never pulled'}`;
    default:
      return found.id;
  }
}

export async function create(tenantId: string, providerId: string, secret: string): Promise<UserErrorCode[]> {
  const { data } = await client.mutate({
    mutation: CreateCredentialDocument,
    variables: { input: { tenantId, providerId, label: 'prod', secret } },
  });
  const codes = data?.createCredential.userErrors.map((e) => e.code) ?? [];
  for (const code of codes) {
    // A client switches on the codes the mutation lists; UserErrorCode is a union of string literals.
    if (code === 'LABEL_TAKEN' || code === 'KEY_FORMAT_MISMATCH') return [code];
  }
  return codes;
}

export async function audit(tenantId: string): Promise<Record<string, unknown>[]> {
  const { data } = await client.query({ query: AuditPageDocument, variables: { tenantId } });
  const events = data?.auditEvents.nodes ?? [];
  assert<Exact<(typeof events)[number]['details'], Record<string, unknown>>>();
  return events.map((e) => e.details);
}
