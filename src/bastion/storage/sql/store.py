"""The SQL Store: repositories over one Database, plus migrations and shutdown."""

from __future__ import annotations

from bastion.storage.cognito_identity import CognitoIdentityRepository
from bastion.storage.cognito_idp import CognitoIdpRepository
from bastion.storage.interfaces import IamRepository, MetaRepository
from bastion.storage.iot import IotRepository
from bastion.storage.mqtt import MqttRepository
from bastion.storage.sql.cognito_identity import SqlCognitoIdentityRepository
from bastion.storage.sql.cognito_idp import SqlCognitoIdpRepository
from bastion.storage.sql.engine import Database
from bastion.storage.sql.iam import SqlIamRepository
from bastion.storage.sql.iot import SqlIotRepository
from bastion.storage.sql.meta import SqlMetaRepository
from bastion.storage.sql.migrations import run_migrations, schema_version
from bastion.storage.sql.mqtt import SqlMqttRepository


class SqlStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.iam: IamRepository = SqlIamRepository(db)
        self.meta: MetaRepository = SqlMetaRepository(db)
        self.iot: IotRepository = SqlIotRepository(db)
        self.cognito_identity: CognitoIdentityRepository = SqlCognitoIdentityRepository(db)
        self.cognito_idp: CognitoIdpRepository = SqlCognitoIdpRepository(db)
        self.mqtt: MqttRepository = SqlMqttRepository(db)

    async def migrate(self) -> None:
        await run_migrations(self.db)

    async def schema_version(self) -> int:
        return await schema_version(self.db)

    async def close(self) -> None:
        await self.db.dispose()

    def __repr__(self) -> str:
        return f"SqlStore({self.db.display_url!r})"
