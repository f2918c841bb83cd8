"""Assembles one Bastion process: store, services, API pipeline, listeners."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiohttp import web

from bastion.api.app import ApiConfig, ApiPipeline, build_web_app
from bastion.api.fronts.cognito_identity import build_cognito_identity_front
from bastion.api.fronts.cognito_idp import build_cognito_idp_front, well_known_routes
from bastion.api.fronts.iam import build_iam_front
from bastion.api.fronts.iot import build_iot_front
from bastion.api.fronts.iot_data import build_iot_data_front
from bastion.api.fronts.sts import build_sts_front
from bastion.bootstrap import AdminCredentials, load_or_create_admin_credentials
from bastion.broker import MqttServer, TlsMaterial
from bastion.broker import load_or_create as load_or_create_tls
from bastion.broker.data_plane import BrokerDataPlane
from bastion.broker.server import build_mqtt_server
from bastion.clock import Clock, SystemClock
from bastion.config import PORT_OFF, Settings, StartupError
from bastion.sealing import Sealer, load_or_create_master_key
from bastion.services.authorizer import Authorizer
from bastion.services.cognito_identity.service import CognitoIdentityService, build_cognito_identity
from bastion.services.cognito_identity.user_pools import LocalUserPools
from bastion.services.cognito_idp import CognitoIdpService
from bastion.services.cognito_idp.setup import build_cognito_idp
from bastion.services.iam.service import IamService
from bastion.services.identity import CachingCredentialResolver, CredentialResolver
from bastion.services.iot.endpoint import Endpoints, listener_address
from bastion.services.iot.policies import IotPolicyService
from bastion.services.iot.simulation import IotAuthorizationService
from bastion.services.sts.service import StsService
from bastion.storage import interfaces as st
from bastion.storage.factory import open_store

if TYPE_CHECKING:
    from bastion.cluster import ClusterNode

log = logging.getLogger("bastion")


@dataclass
class Services:
    iam: IamService
    sts: StsService
    authorizer: Authorizer
    resolver: CredentialResolver
    iot: IotPolicyService
    iot_authorization: IotAuthorizationService
    cognito_identity: CognitoIdentityService
    cognito_idp: CognitoIdpService


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
    mqtt: MqttServer | None = None
    tls: TlsMaterial | None = None
    _tls_port: int | None = None
    cluster: ClusterNode | None = None

    async def start(self) -> None:
        settings = self.settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(settings.data_dir, 0o700)
        self.admin = load_or_create_admin_credentials(
            settings.data_dir, settings.admin_access_key_id, settings.admin_secret_access_key
        )
        master_key = load_or_create_master_key(settings.data_dir, os.environ.get("BASTION_MASTER_KEY"))
        sealer = Sealer(master_key)
        self.store = await open_store(settings.effective_database_url)
        cognito_idp = build_cognito_idp(
            self.store.cognito_idp, settings=settings, sealer=sealer, master_key=master_key, clock=self.clock
        )
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
        iot = IotPolicyService(
            self.store.iot, region=settings.region, account_id=settings.account_id, clock=self.clock
        )
        authorizer = Authorizer(
            iam, self.store.meta, region=settings.region, account_id=settings.account_id, iot=iot
        )
        await authorizer.sync_generation()
        self._watch = asyncio.create_task(authorizer.watch_generation(), name="authz-generation-watch")
        sts = StsService(iam=iam, tokens=resolver.tokens, account_id=settings.account_id, clock=self.clock)
        iot_authorization = IotAuthorizationService(authorizer, iot)
        cognito_identity = build_cognito_identity(
            self.store.cognito_identity,
            iam=iam,
            sts=sts,
            sealer=sealer,
            clock=self.clock,
            region=settings.region,
            account_id=settings.account_id,
            user_pools=LocalUserPools(cognito_idp),
        )
        self.services = Services(
            iam=iam,
            sts=sts,
            authorizer=authorizer,
            resolver=resolver,
            iot=iot,
            iot_authorization=iot_authorization,
            cognito_identity=cognito_identity,
            cognito_idp=cognito_idp,
        )
        if settings.mqtt_tls_port != PORT_OFF or settings.api_tls_port != PORT_OFF:
            self.tls = load_or_create_tls(
                settings.data_dir, settings.host, settings.tls_cert, settings.tls_key
            )
        # One resolver for signed API requests and SigV4 CONNECTs: resolved keys are kept for the
        # authorization generation, so a key deleted or deactivated through this node stops at once (the
        # API refreshes the generation after the write), elsewhere within the generation poll.
        credentials = CachingCredentialResolver(resolver, lambda: authorizer.generation)
        self.mqtt = build_mqtt_server(
            settings,
            authorizer=authorizer,
            credentials=credentials,
            repository=self.store.mqtt,
            clock=self.clock,
            tls=self.tls,
        )
        fronts = {
            "iam": build_iam_front(iam, settings.account_id),
            "sts": build_sts_front(sts, authorizer),
            "cognito-identity": build_cognito_identity_front(cognito_identity, authorizer),
            "cognito-idp": build_cognito_idp_front(cognito_idp),
            "iot": build_iot_front(
                iot, iot_authorization, Endpoints(lambda: listener_address(settings.host, self.port))
            ),
            "iot-data": build_iot_data_front(BrokerDataPlane(self.mqtt.broker)),
        }
        pipeline = ApiPipeline(
            config=ApiConfig(settings.region, settings.account_id, settings.max_body_bytes),
            fronts=fronts,
            resolver=credentials,
            authorizer=authorizer,
            clock=self.clock,
        )
        app = build_web_app(pipeline, settings.max_body_bytes, well_known_routes(cognito_idp))
        self.mqtt.add_routes(app)
        if settings.cluster_url is not None:
            try:
                from bastion.cluster import ClusterNode  # only with --cluster: NATS is optional
            except ImportError as exc:
                raise StartupError(
                    f"--cluster needs the NATS client: pip install 'bastion[cluster]' ({exc})"
                ) from exc

            self.cluster = ClusterNode(settings.cluster_url, settings.cluster_name, settings.data_dir)
            await self.cluster.connect(self.mqtt.broker)
        await self.mqtt.start()
        if self.cluster is not None:
            await self.cluster.start()
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, settings.host, settings.api_port, reuse_address=True)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self._port = sockets[0].getsockname()[1] if sockets else settings.api_port
        if settings.api_tls_port != PORT_OFF and self.tls is not None:
            tls_site = web.TCPSite(
                self._runner,
                settings.host,
                settings.api_tls_port,
                ssl_context=self.tls.server_context(),
                reuse_address=True,
            )
            await tls_site.start()
            tls_sockets = getattr(tls_site._server, "sockets", None) or []
            self._tls_port = tls_sockets[0].getsockname()[1] if tls_sockets else settings.api_tls_port

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

    @property
    def tls_endpoint_url(self) -> str | None:
        """The API over HTTPS (and MQTT over WSS at /mqtt), when that listener is on."""
        if self._tls_port is None:
            return None
        host = self.settings.host
        shown = f"[{host}]" if ":" in host else host
        return f"https://{shown}:{self._tls_port}"

    async def stop(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
            self._watch = None
        if self.cluster is not None:
            await self.cluster.stop_receiving()
        if self.mqtt is not None:
            await self.mqtt.stop()
            self.mqtt = None
        if self.cluster is not None:
            await self.cluster.stop()
            self.cluster = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.store is not None:
            await self.store.close()
            self.store = None
