-- Custom SQL migration file, put your code below! ---- Names this installation once; /health reports it.
INSERT INTO "instance" DEFAULT VALUES ON CONFLICT ("singleton") DO NOTHING;
