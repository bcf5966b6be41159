"""Shared pieces of the routes: the app state, bearer tokens, path parameter types."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Annotated, TypeVar

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from box_office.catalog import principals
from box_office.context import Context
from box_office.notify.mail import Mailer
from box_office.notify.sms import SmsGateway
from box_office.payments.provider import ProviderRegistry
from box_office.sales.order_watch import OrderWatch

T = TypeVar("T")

Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
TicketId = Annotated[str, Path(min_length=1, max_length=36)]
Kid = Annotated[str, Path(min_length=1, max_length=64)]
AreaCode = Annotated[str, Path(min_length=1, max_length=40)]
ProviderName = Annotated[str, Path(min_length=1, max_length=20, pattern=r"^[a-z][a-z0-9_]*$")]

_bearer = HTTPBearer(auto_error=False, description="Bearer token of an organiser, a buyer or a feed client")


@dataclass
class AppState:
    ctx: Context
    providers: ProviderRegistry
    mailer: Mailer
    sms: SmsGateway
    order_watch: OrderWatch
    # Calls that wait on the payment provider run on their own threads: a slow (or, for the
    # sandbox, same-process) provider must never use up the threads that serve the database.
    provider_threads: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(32, thread_name_prefix="provider")
    )

    async def with_provider(self, work: Callable[..., T], *args: object) -> T:
        """Run a use case that calls the payment provider, on the provider threads."""
        return await asyncio.get_running_loop().run_in_executor(self.provider_threads, partial(work, *args))


async def state(request: Request) -> AppState:
    # async (like the principals below): a plain def dependency costs a trip to a worker thread.
    value: AppState = request.app.state.box_office
    return value


State = Annotated[AppState, Depends(state)]


def _token(credentials: HTTPAuthorizationCredentials | None) -> str | None:
    return None if credentials is None else credentials.credentials


async def _principal(app: AppState, lookup: Callable[[Context, str | None], int], token: str | None) -> int:
    """A token seen before is answered from memory on the event loop; a new one in a thread."""
    known = principals.remembered_principal(app.ctx, lookup, token)
    if known is not None:
        return known
    return await run_in_threadpool(lookup, app.ctx, token)


async def organiser(
    app: State, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> int:
    return await _principal(app, principals.organiser_for, _token(credentials))


async def buyer(
    app: State, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> int:
    return await _principal(app, principals.account_for, _token(credentials))


async def feed_client(
    app: State, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> int:
    return await _principal(app, principals.feed_client_for, _token(credentials))


OrganiserId = Annotated[int, Depends(organiser)]
BuyerId = Annotated[int, Depends(buyer)]
FeedEventId = Annotated[int, Depends(feed_client)]
