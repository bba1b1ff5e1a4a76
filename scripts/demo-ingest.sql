-- pgbench script for scripts/demo: one page view per transaction,
-- one of 20 urls, one of 1000 users, at a random moment of the last 3 days.
\set page random(1, 20)
\set user_id random(1, 1000)
INSERT INTO pageviews (url, user_id, ts)
VALUES ((ARRAY['/home', '/about', '/pricing', '/blog', '/docs', '/search',
               '/login', '/signup', '/cart', '/checkout',
               '/p/1', '/p/2', '/p/3', '/p/4', '/p/5',
               '/p/6', '/p/7', '/p/8', '/p/9', '/p/10'])[:page],
        :user_id,
        now() - random() * interval '3 days');
