-- The programme guide's grid: every programme slot a channel's guide has listed,
-- start and stop in Unix seconds. A slot once listed is a promise to the apps that
-- stored the guide, so rows are only added at the end and dropped once long past;
-- never changed. See docs/guide.md.
CREATE TABLE programme_slots (
    channel TEXT NOT NULL,
    start INTEGER NOT NULL,
    stop INTEGER NOT NULL,
    PRIMARY KEY (channel, start)
) WITHOUT ROWID;
