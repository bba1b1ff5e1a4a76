-- lambda_views 0.1 -> 1.0: 1.0 is 0.1 frozen under a release number; the
-- catalog did not change.
\echo Use "ALTER EXTENSION lambda_views UPDATE TO '1.0'" to load this file. \quit
