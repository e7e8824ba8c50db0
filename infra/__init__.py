"""Infrastructure as code for a facegate stage: the CloudFormation template and its tools."""
