import { Field, ID, ObjectType } from 'type-graphql';
import { Credential } from '../credential/credential.type';

@ObjectType({ simpleResolvers: true, description: "A credential's status or last check changed; the credential as it is now." })
export class CredentialEvent {
  @Field(() => ID, { description: 'Owning tenant.' }) tenantId!: string;
  @Field(() => ID, { description: 'The credential that changed.' }) credentialId!: string;
  @Field(() => Credential, { description: 'The credential, re-read when the event arrived.' }) credential!: Credential;
}

@ObjectType({ simpleResolvers: true, description: "A key reuse alert was raised or reopened on one of the tenant's credentials." })
export class KeyReuseAlertEvent {
  @Field(() => ID, { description: 'Owning tenant.' }) tenantId!: string;
  @Field(() => ID, { description: 'The alert.' }) alertId!: string;
  @Field(() => ID, { description: 'The credential the alert is about.' }) credentialId!: string;
}
