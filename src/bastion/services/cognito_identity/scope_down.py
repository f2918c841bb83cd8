"""The session policy Cognito adds to enhanced-flow credentials of unauthenticated identities.

AWS documents it on the Cognito "IAM roles" page ("Access policies"): guests' credentials from
``GetCredentialsForIdentity`` reach only the services listed there, and a few of them only for some
actions. The effective permissions are the intersection of the unauthenticated role's policies and this
policy. (The basic flow, GetOpenIdToken + AssumeRoleWithWebIdentity, adds none.)

Service prefixes follow the IAM service authorization reference. Partial services, as documented: KMS
(Encrypt, Decrypt, ReEncrypt, GenerateDataKey), SageMaker (InvokeEndpoint), Textract
(DetectDocumentText, AnalyzeDocument), Sumerian (View*). Amazon Personalize and CloudWatch RUM's
PutRumEvents come from the AWS managed policy behind this list (AmazonCognitoUnAuthedIdentitiesSessionPolicy).
"""

from __future__ import annotations

import json

WHOLE_SERVICES = (
    "appsync",  # AWS AppSync
    "cloudwatch",  # Amazon CloudWatch
    "cognito-identity",  # Amazon Cognito Identity
    "cognito-sync",  # Amazon Cognito Sync
    "comprehend",  # Amazon Comprehend
    "dynamodb",  # Amazon DynamoDB
    "gamelift",  # Amazon GameLift
    "iot",  # AWS IoT (control plane and data plane share the prefix)
    "firehose",  # Amazon Kinesis Data Firehose
    "kinesis",  # Amazon Kinesis Data Streams
    "lambda",  # AWS Lambda
    "lex",  # Amazon Lex
    "geo",  # Amazon Location Service
    "machinelearning",  # Amazon Machine Learning
    "mobileanalytics",  # Amazon Mobile Analytics
    "mobiletargeting",  # Amazon Pinpoint
    "personalize",  # Amazon Personalize
    "polly",  # Amazon Polly
    "rekognition",  # Amazon Rekognition
    "sdb",  # Amazon SimpleDB
    "ses",  # Amazon Simple Email Service
    "sns",  # Amazon Simple Notification Service
    "sqs",  # Amazon Simple Queue Service
    "s3",  # Amazon Simple Storage Service
    "transcribe",  # Amazon Transcribe
    "translate",  # Amazon Translate
)
SOME_ACTIONS = (
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
    "sagemaker:InvokeEndpoint",
    "textract:DetectDocumentText",
    "textract:AnalyzeDocument",
    "sumerian:View*",
    "rum:PutRumEvents",
)


def unauthenticated_session_policy() -> str:
    actions = [f"{prefix}:*" for prefix in WHOLE_SERVICES] + list(SOME_ACTIONS)
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "CognitoUnauthenticatedScopeDown", "Effect": "Allow", "Action": actions, "Resource": "*"}
        ],
    }
    return json.dumps(document, separators=(",", ":"))


UNAUTHENTICATED_SESSION_POLICY = unauthenticated_session_policy()
