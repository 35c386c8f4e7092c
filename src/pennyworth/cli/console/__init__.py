"""`pennyworth console`: a small web console on 127.0.0.1 for keys, spend and usage.

It talks to the DynamoDB table with the operator's own AWS credentials, through the same functions as the
command line (`pennyworth.cli.admin`): nothing is deployed and there is no admin route on the gateway.
"""
