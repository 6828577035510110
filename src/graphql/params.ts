import { Args, createParameterDecorator } from 'type-graphql';
import { checkPageArgs, checkPageSize } from '../db/pagination';
import { auditActor } from '../modules/auth/actor';
import { ForwardPageArgsInput, PageArgsInput } from './connection';
import { actorOf, type GraphQLContext } from './context';

/*
 * Parameter decorators for what every resolver takes from the context. They run on every call, so
 * each is one property read or one small object: no I/O, no allocation beyond the audit actor.
 */

/** The caller; fails closed (UNAUTHENTICATED) if a resolver forgot @Authorized. */
export const CurrentActor = () => createParameterDecorator<GraphQLContext>(({ context }) => actorOf(context));

/** The caller as an audit row records it, with the request id. */
export const Audit = () => createParameterDecorator<GraphQLContext>(({ context }) => auditActor(actorOf(context), context.requestId));

/** `first`/`after` or `last`/`before`, checked (sizes against the server maximum) before the resolver runs. */
export const Page = () =>
  Args(() => PageArgsInput, {
    validateFn: (page: PageArgsInput, _type, { context }) => checkPageArgs(page, (context as GraphQLContext).pageSizeMax),
  });

/** `first` and `after` only, for lists that page forward only. */
export const ForwardPage = () =>
  Args(() => ForwardPageArgsInput, {
    validateFn: (page: ForwardPageArgsInput, _type, { context }) => checkPageSize(page.first, (context as GraphQLContext).pageSizeMax),
  });
