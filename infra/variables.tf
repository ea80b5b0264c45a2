variable "prefix" {
  description = "Every resource name derives from it (GAS_AWS_PREFIX)."
  type        = string
  default     = "gas"
}

variable "region" {
  type    = string
  default = "us-east-1"
}

variable "util_public_url" {
  description = "The https base URL at which SNS reaches the util service (GAS_UTIL_PUBLIC_URL)."
  type        = string
}

variable "web_public_url" {
  description = "The https base URL of the web app (GAS_WEB_PUBLIC_URL)."
  type        = string
}

variable "free_access_window" {
  description = "Seconds free users may download results (GAS_FREE_ACCESS_WINDOW)."
  type        = number
  default     = 300
}

variable "cold_storage" {
  description = "s3-class (default) or glacier-vault (only accounts that still have Glacier vaults)."
  type        = string
  default     = "s3-class"
}

variable "email_from" {
  description = "A verified SES identity that notifications come from."
  type        = string
}

variable "artifact" {
  description = "s3:// URL of the release gas binary."
  type        = string
}

variable "units" {
  description = "s3:// prefix holding aws/systemd/*.service."
  type        = string
}

variable "ami" {
  description = "An AMI with the AWS CLI (e.g. Amazon Linux 2023)."
  type        = string
}

variable "instance_type" {
  type    = string
  default = "t3.small"
}

variable "subnet_id" {
  type = string
}

variable "security_group_ids" {
  type = list(string)
}
