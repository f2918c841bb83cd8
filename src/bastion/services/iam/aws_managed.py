"""AWS managed policies that apps and samples attach by ARN (``arn:aws:iam::aws:policy/NAME``).

Only policies whose documents are stable and well known are provided; each is created at start when
missing and cannot be changed or deleted, as in AWS.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

AWS_MANAGED_PREFIX = "arn:aws:iam::aws:policy/"


def _document(*statements: Mapping[str, object]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, indent=4)


AWS_MANAGED_POLICIES: Mapping[str, tuple[str, str]] = {
    # name -> (description, document)
    "AdministratorAccess": (
        "Provides full access to AWS services and resources.",
        _document({"Effect": "Allow", "Action": "*", "Resource": "*"}),
    ),
    "AWSIoTFullAccess": (
        "This policy gives full access to the AWS IoT configuration and messaging operations",
        _document({"Effect": "Allow", "Action": ["iot:*", "iotjobsdata:*"], "Resource": "*"}),
    ),
    "AWSIoTDataAccess": (
        "This policy gives full access to the AWS IoT messaging operations",
        _document(
            {
                "Effect": "Allow",
                "Action": [
                    "iot:Connect",
                    "iot:Publish",
                    "iot:Subscribe",
                    "iot:Receive",
                    "iot:GetThingShadow",
                    "iot:UpdateThingShadow",
                    "iot:DeleteThingShadow",
                    "iot:ListNamedShadowsForThing",
                ],
                "Resource": "*",
            }
        ),
    ),
}


def is_aws_managed(arn: str) -> bool:
    return arn.startswith(AWS_MANAGED_PREFIX)
