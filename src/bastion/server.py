"""Assembles one Bastion process: store, services, API pipeline, listeners."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from dataclasses import dataclass, field

from aiohttp import web

from bastion.api.app import ApiConfig, ApiPipeline, build_web_app
from bastion.api.fronts.iam import build_iam_front
from bastion.api.fronts.sts import build_sts_front
from bastion.bootstrap import AdminCredentials, load_or_create_admin_credentials
from bastion.clock import Clock, SystemClock
from bastion.config import Settings
from bastion.sealing import Sealer, load_or_create_master_key
from bastion.services.authorizer import Authorizer
from bastion.services.iam.service import IamService
from bastion.services.identity import CredentialResolver
from bastion.services.sts.service import StsService
from bastion.storage import interfaces as st
from bastion.storage.factory import open_store

log = logging.getLogger("bastion")


@dataclass
class Services:
    iam: IamService
    sts: StsService
    authorizer: Authorizer
    resolver: CredentialResolver


@dataclass
class BastionServer:
    settings: Settings
    clock: Clock = field(default_factory=SystemClock)
    store: st.Store | None = None
    services: Services | None = None
    admin: AdminCredentials | None = None
    _runner: web.AppRunner | None = None
    _watch: asyncio.Task[None] | None = None
    _port: int | None = None

    async def start(self) -> None:
        settings = self.settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(settings.data_dir, 0o700)
        self.admin = load_or_create_admin_credentials(
            settings.data_dir, settings.admin_access_key_id, settings.admin_secret_access_key
        )
        sealer = Sealer(load_or_create_master_key(settings.data_dir, os.environ.get("BASTION_MASTER_KEY")))
        self.store = await open_store(settings.effective_database_url)
        iam = IamService(self.store, account_id=settings.account_id, sealer=sealer, clock=self.clock)
        await iam.ensure_aws_managed_policies()
        resolver = CredentialResolver(
            account_id=settings.account_id,
            admin_access_key_id=self.admin.access_key_id,
            admin_secret_access_key=self.admin.secret_access_key,
            iam=self.store.iam,
            sealer=sealer,
            clock=self.clock,
        )
        authorizer = Authorizer(iam, self.store.meta, region=settings.region, account_id=settings.account_id)
        await authorizer.sync_generation()
        self._watch = asyncio.create_task(authorizer.watch_generation(), name="authz-generation-watch")
        sts = StsService(iam=iam, tokens=resolver.tokens, account_id=settings.account_id, clock=self.clock)
        self.services = Services(iam=iam, sts=sts, authorizer=authorizer, resolver=resolver)
        fronts = {
            "iam": build_iam_front(iam, settings.account_id),
            "sts": build_sts_front(sts, authorizer),
        }
        pipeline = ApiPipeline(
            config=ApiConfig(settings.region, settings.account_id, settings.max_body_bytes),
            fronts=fronts,
            resolver=resolver,
            authorizer=authorizer,
            clock=self.clock,
        )
        app = build_web_app(pipeline, settings.max_body_bytes)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, settings.host, settings.api_port, reuse_address=True)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self._port = sockets[0].getsockname()[1] if sockets else settings.api_port

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("server not started")
        return self._port

    @property
    def endpoint_url(self) -> str:
        host = self.settings.host
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self.port}"

    async def stop(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
            self._watch = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.store is not None:
            await self.store.close()
            self.store = None
