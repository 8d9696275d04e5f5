# Appended by tools/live/harness.py to the sentry.conf.py that `sentry init`
# writes. Facts: ../reference notes of the project, measured on 23.7.1.
DATABASES = {
    "default": {
        "ENGINE": "sentry.db.postgres",
        "NAME": "@DB@",
        "USER": "postgres",
        "PASSWORD": "",
        "HOST": "127.0.0.1",
        "PORT": "@PG_PORT@",
    }
}
SENTRY_SINGLE_ORGANIZATION = False
CELERY_ALWAYS_EAGER = True  # no worker: tasks run inline
BROKER_URL = "redis://127.0.0.1:@REDIS_PORT@"
SENTRY_EVENTSTREAM = "sentry.eventstream.base.EventStream"  # the default needs Kafka
SENTRY_TSDB = "sentry.tsdb.redis.RedisTSDB"  # the default needs Snuba
SENTRY_USE_RELAY = False
SENTRY_USE_METRICS_DEV = False
SENTRY_USE_CDC_DEV = False
SENTRY_USE_PROFILING = False
SENTRY_USE_ISSUE_OCCURRENCE = False
SENTRY_PROJECT = None  # else the server's own SDK reports its errors to itself
# False: the rate-limit middleware sends X-Sentry-Rate-Limit-* headers (with
# the default True it returns early and sends none, as self-hosted installs do).
SENTRY_SELF_HOSTED = False
SENTRY_FEATURES.update(  # defined by the generated file above
    {
        "organizations:invite-members": True,
        "organizations:invite-members-rate-limits": True,
        "organizations:team-roles": True,
        "organizations:scim-team-roles": True,
    }
)
