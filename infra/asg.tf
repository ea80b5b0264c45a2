# The three services, each an auto scaling group of instances started from
# a launch template whose user data (aws/user-data.sh) installs the release
# binary, writes /etc/gas/gas.toml and starts the service's systemd unit
# (aws/systemd/). The load balancer health-checks every group on /readyz
# (the service answers and can read its job store) and the group replaces
# an instance that fails it.
#
# Changing the release (release_key, release_sha256), the configuration or
# the AMI makes a new launch template version, and the instance refresh
# rolls each group onto it: new instances first, old ones removed once the
# new pass their health checks (docs/DEPLOY.md: upgrades and rollback).

data "aws_ssm_parameter" "al2023" {
  count = var.ami_id == "" ? 1 : 0
  name  = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-${var.architecture}"
}

locals {
  ami_id = var.ami_id != "" ? var.ami_id : data.aws_ssm_parameter.al2023[0].insecure_value

  # /etc/gas/gas.toml, the same on every instance; its keys are the fields of
  # Config (crates/gas/src/config.rs). Strings go in JSON-quoted, which TOML
  # reads as basic strings.
  gas_config = templatefile("${path.module}/../aws/gas.toml.tftpl", {
    aws_prefix               = jsonencode(var.prefix)
    public_url               = jsonencode(local.public_url)
    web_port                 = local.service_ports["web"]
    util_port                = local.service_ports["util"]
    ann_port                 = local.service_ports["ann"]
    cold_storage             = jsonencode(var.cold_storage)
    s3_archive_storage_class = jsonencode(var.s3_archive_storage_class)
    free_access_window       = var.free_access_window
    free_upload_limit        = var.free_upload_limit
    max_upload               = var.max_upload
    session_ttl              = var.session_ttl
    requeue_after            = var.requeue_after
    ann_workers              = var.ann_workers
    visibility_timeout       = var.visibility_timeout
    max_receives             = var.max_receives
    email_from               = jsonencode(var.email_from)
  })

  group_sizes = {
    web  = { min = var.web_min_size, max = var.web_max_size }
    ann  = { min = var.ann_min_size, max = var.ann_max_size }
    util = { min = var.util_min_size, max = var.util_max_size }
  }
}

resource "aws_launch_template" "service" {
  for_each               = local.service_ports
  name                   = "${var.prefix}-${each.key}"
  image_id               = local.ami_id
  instance_type          = var.instance_types[each.key]
  update_default_version = true

  user_data = base64encode(templatefile("${path.module}/../aws/user-data.sh", {
    service        = each.key
    region         = var.region
    release_bucket = var.release_bucket
    release_key    = var.release_key
    release_sha256 = var.release_sha256
    config         = local.gas_config
    unit           = file("${path.module}/../aws/systemd/gas-${each.key}.service")
    log_group      = aws_cloudwatch_log_group.service[each.key].name
    # Optional features (empty: off); the secrets as SSM parameter names.
    stripe_price_id                 = var.stripe_price_id
    stripe_publishable_key          = var.stripe_publishable_key
    stripe_secret_key_parameter     = var.stripe_secret_key_parameter
    stripe_webhook_secret_parameter = var.stripe_webhook_secret_parameter
    secret_key_parameter            = var.secret_key_parameter
    oidc_issuer                     = var.oidc_issuer
    oidc_client_id                  = var.oidc_client_id
    oidc_client_secret_parameter    = var.oidc_client_secret_parameter
    oidc_name                       = var.oidc_name
  }))

  iam_instance_profile {
    arn = aws_iam_instance_profile.service[each.key].arn
  }

  network_interfaces {
    associate_public_ip_address = var.instance_public_ip
    security_groups             = [aws_security_group.service[each.key].id]
    delete_on_termination       = true
  }

  # IMDSv2 only, and not past the host: the service is the only reader.
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
    instance_metadata_tags      = "disabled"
  }

  block_device_mappings {
    device_name = "/dev/xvda"
    ebs {
      volume_size           = var.root_volume_gb[each.key]
      volume_type           = "gp3"
      encrypted             = true
      delete_on_termination = true
    }
  }

  tag_specifications {
    resource_type = "instance"
    tags          = { Name = "${var.prefix}-${each.key}", Service = each.key }
  }
  tag_specifications {
    resource_type = "volume"
    tags          = { Name = "${var.prefix}-${each.key}", Service = each.key }
  }
}

resource "aws_autoscaling_group" "service" {
  for_each            = local.service_ports
  name                = "${var.prefix}-${each.key}"
  min_size            = local.group_sizes[each.key].min
  max_size            = local.group_sizes[each.key].max
  vpc_zone_identifier = var.instance_subnet_ids
  target_group_arns   = [aws_lb_target_group.service[each.key].arn]

  # Replace an instance whose /readyz fails at the load balancer, not only
  # one whose hardware fails.
  health_check_type         = "ELB"
  health_check_grace_period = 300
  default_instance_warmup   = 120
  # Terraform waits until the minimum is healthy behind the load balancer
  # (the SNS subscriptions need util answering).
  wait_for_elb_capacity     = local.group_sizes[each.key].min
  wait_for_capacity_timeout = "15m"

  launch_template {
    id      = aws_launch_template.service[each.key].id
    version = aws_launch_template.service[each.key].latest_version
  }

  instance_refresh {
    strategy = "Rolling"
    preferences {
      # Launch before terminating: a group of one keeps serving.
      min_healthy_percentage = 100
      max_healthy_percentage = 200
    }
  }

  # GroupInServiceInstances feeds ann's backlog-per-instance metric.
  metrics_granularity = "1Minute"
  enabled_metrics     = ["GroupInServiceInstances", "GroupDesiredCapacity", "GroupPendingInstances", "GroupTerminatingInstances"]

  tag {
    key                 = "Name"
    value               = "${var.prefix}-${each.key}"
    propagate_at_launch = true
  }
  tag {
    key                 = "Service"
    value               = each.key
    propagate_at_launch = true
  }

  # The instance profile is referenced, its role's policy is not: without
  # this, instances can boot (and their services start) before the policy
  # that lets them read their tables and queues exists.
  depends_on = [aws_iam_role_policy.service]
}

# --- Scaling ------------------------------------------------------------------

# ann: outstanding job requests per in-service annotator. Waiting (visible)
# and in-progress (not visible) requests both count, so that scaling in does
# not pick instances whose workers are busy while the queue is momentarily
# empty. With no instance in service the whole backlog is the metric, so a
# group of 0 scales out only once more than ann_backlog_per_instance
# requests wait: ann_from_zero below starts one for fewer.
resource "aws_autoscaling_policy" "ann_backlog" {
  name                   = "${var.prefix}-ann-backlog-per-instance"
  autoscaling_group_name = aws_autoscaling_group.service["ann"].name
  policy_type            = "TargetTrackingScaling"
  target_tracking_configuration {
    target_value = var.ann_backlog_per_instance
    customized_metric_specification {
      metrics {
        id          = "visible"
        return_data = false
        metric_stat {
          stat = "Sum"
          metric {
            namespace   = "AWS/SQS"
            metric_name = "ApproximateNumberOfMessagesVisible"
            dimensions {
              name  = "QueueName"
              value = aws_sqs_queue.channel["requests"].name
            }
          }
        }
      }
      metrics {
        id          = "in_flight"
        return_data = false
        metric_stat {
          stat = "Sum"
          metric {
            namespace   = "AWS/SQS"
            metric_name = "ApproximateNumberOfMessagesNotVisible"
            dimensions {
              name  = "QueueName"
              value = aws_sqs_queue.channel["requests"].name
            }
          }
        }
      }
      metrics {
        id          = "in_service"
        return_data = false
        metric_stat {
          stat = "Average"
          metric {
            namespace   = "AWS/AutoScaling"
            metric_name = "GroupInServiceInstances"
            dimensions {
              name  = "AutoScalingGroupName"
              value = aws_autoscaling_group.service["ann"].name
            }
          }
        }
      }
      metrics {
        id          = "backlog_per_instance"
        label       = "Job requests per in-service annotator"
        expression  = "IF(in_service > 0, (visible + in_flight) / in_service, visible + in_flight)"
        return_data = true
      }
    }
  }
}

# ann with ann_min_size = 0: one instance as soon as a job request waits and
# no annotator is in service (an alarm on both, below), where target
# tracking would leave one to ann_backlog_per_instance requests waiting for
# ever; target tracking takes over from there. The instance added counts as capacity while it
# warms up, so the alarm staying in ALARM until the instance is in service
# (the group's metric lags a minute or two) adds no second one.
resource "aws_autoscaling_policy" "ann_from_zero" {
  count                     = var.ann_min_size == 0 ? 1 : 0
  name                      = "${var.prefix}-ann-from-zero"
  autoscaling_group_name    = aws_autoscaling_group.service["ann"].name
  policy_type               = "StepScaling"
  adjustment_type           = "ChangeInCapacity"
  metric_aggregation_type   = "Maximum"
  estimated_instance_warmup = 300
  step_adjustment {
    scaling_adjustment          = 1
    metric_interval_lower_bound = 0
  }
}

resource "aws_cloudwatch_metric_alarm" "ann_from_zero" {
  count               = var.ann_min_size == 0 ? 1 : 0
  alarm_name          = "${var.prefix}-ann-from-zero"
  alarm_description   = "Job requests wait in ${aws_sqs_queue.channel["requests"].name} and no ann instance is in service: start one."
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = 1
  evaluation_periods  = 1
  # No data (no queue metric yet): nothing to start.
  treat_missing_data = "notBreaching"
  alarm_actions      = [aws_autoscaling_policy.ann_from_zero[0].arn]

  metric_query {
    id          = "waiting_without_annotator"
    label       = "Job requests wait and no annotator is in service"
    expression  = "IF(visible > 0 AND in_service == 0, 1, 0)"
    return_data = true
  }
  metric_query {
    id = "visible"
    metric {
      namespace   = "AWS/SQS"
      metric_name = "ApproximateNumberOfMessagesVisible"
      dimensions  = { QueueName = aws_sqs_queue.channel["requests"].name }
      stat        = "Maximum"
      period      = 60
    }
  }
  metric_query {
    id = "in_service"
    metric {
      namespace   = "AWS/AutoScaling"
      metric_name = "GroupInServiceInstances"
      dimensions  = { AutoScalingGroupName = aws_autoscaling_group.service["ann"].name }
      stat        = "Maximum"
      period      = 60
    }
  }
}

resource "aws_autoscaling_policy" "web_requests" {
  name                   = "${var.prefix}-web-requests-per-instance"
  autoscaling_group_name = aws_autoscaling_group.service["web"].name
  policy_type            = "TargetTrackingScaling"
  target_tracking_configuration {
    target_value = var.web_requests_per_target
    predefined_metric_specification {
      predefined_metric_type = "ALBRequestCountPerTarget"
      resource_label         = "${aws_lb.gas.arn_suffix}/${aws_lb_target_group.service["web"].arn_suffix}"
    }
  }
}

resource "aws_autoscaling_policy" "util_cpu" {
  name                   = "${var.prefix}-util-cpu"
  autoscaling_group_name = aws_autoscaling_group.service["util"].name
  policy_type            = "TargetTrackingScaling"
  target_tracking_configuration {
    target_value = var.util_cpu_target
    predefined_metric_specification {
      predefined_metric_type = "ASGAverageCPUUtilization"
    }
  }
}
