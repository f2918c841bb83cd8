"""AWS IoT control plane: policies, versions, attachments, TestAuthorization and DescribeEndpoint."""
