-- Start folding this database now (a no-op without shared_preload_libraries).
SELECT lambda_views.wake_launcher();
