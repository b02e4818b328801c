<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="de">
<context>
    <name>BandwidthPage</name>
    <message>
        <location filename="../pages/bandwidth.py" line="19"/>
        <location filename="../pages/bandwidth.py" line="51"/>
        <source>Bandwidth</source>
        <translation>Bandbreite</translation>
    </message>
    <message>
        <location filename="../pages/bandwidth.py" line="21"/>
        <source>All folders</source>
        <translation>Alle Ordner</translation>
    </message>
    <message>
        <location filename="../pages/bandwidth.py" line="22"/>
        <source>Limits for all folders</source>
        <translation>Begrenzungen für alle Ordner</translation>
    </message>
    <message>
        <location filename="../pages/bandwidth.py" line="23"/>
        <source>Upload limit for all folders</source>
        <translation>Upload-Begrenzung für alle Ordner</translation>
    </message>
    <message>
        <location filename="../pages/bandwidth.py" line="24"/>
        <source>Download limit for all folders</source>
        <translation>Download-Begrenzung für alle Ordner</translation>
    </message>
    <message>
        <location filename="../pages/bandwidth.py" line="28"/>
        <source>&amp;Upload:</source>
        <translation>&amp;Hochladen:</translation>
    </message>
    <message>
        <location filename="../pages/bandwidth.py" line="29"/>
        <source>&amp;Download:</source>
        <translation>He&amp;runterladen:</translation>
    </message>
    <message>
        <location filename="../pages/bandwidth.py" line="31"/>
        <source>&amp;Automatic upload limit for servers (ssh)</source>
        <translation>&amp;Automatische Upload-Grenze für Server (ssh)</translation>
    </message>
    <message>
        <location filename="../pages/bandwidth.py" line="32"/>
        <source>Automatic upload limit</source>
        <translation>Automatische Upload-Grenze</translation>
    </message>
    <message>
        <location filename="../pages/bandwidth.py" line="35"/>
        <source>Uploads then slow down as soon as they start to delay other traffic on your network (video calls, web pages), and use the whole connection when nothing else does. A limit typed above still applies.</source>
        <translation>Uploads werden dann langsamer, sobald sie anderen Verkehr in Ihrem Netz verzögern (Videoanrufe, Webseiten), und nutzen die ganze Verbindung, wenn sonst nichts sie braucht. Eine oben eingetragene Grenze gilt weiterhin.</translation>
    </message>
    <message>
        <location filename="../pages/bandwidth.py" line="39"/>
        <source>Estimated upload speed</source>
        <translation>Gemessene Upload-Geschwindigkeit</translation>
    </message>
    <message>
        <location filename="../pages/bandwidth.py" line="43"/>
        <source>Per remote</source>
        <translation>Pro Gegenstelle</translation>
    </message>
    <message>
        <location filename="../pages/bandwidth.py" line="44"/>
        <source>Limits per remote</source>
        <translation>Begrenzungen pro Gegenstelle</translation>
    </message>
    <message>
        <location filename="../pages/bandwidth.py" line="52"/>
        <source>Limit how fast file content moves, for example on a slow or metered connection. Type a speed like 500 KB/s or 2 MB/s; leave empty for no limit. A remote&apos;s own limit applies on top of the one for all folders.</source>
        <translation>Begrenzen Sie, wie schnell Dateiinhalte übertragen werden, zum Beispiel bei einer langsamen oder getakteten Verbindung. Geben Sie eine Geschwindigkeit wie 500 KB/s oder 2 MB/s ein; leer lassen für keine Begrenzung. Die eigene Begrenzung einer Gegenstelle gilt zusätzlich zu der für alle Ordner.</translation>
    </message>
    <message>
        <location filename="../pages/bandwidth.py" line="69"/>
        <source>No folder is running the transfer engine right now, so limits cannot be changed here yet.</source>
        <translation>Gerade läuft für keinen Ordner die Übertragungs-Engine, daher können Begrenzungen hier noch nicht geändert werden.</translation>
    </message>
    <message>
        <location filename="../pages/bandwidth.py" line="97"/>
        <source>%1: about %2</source>
        <translation>%1: etwa %2</translation>
    </message>
    <message>
        <location filename="../pages/bandwidth.py" line="99"/>
        <source>The upload speed of each connection is measured during the first large upload.</source>
        <translation>Die Upload-Geschwindigkeit jeder Verbindung wird beim ersten großen Upload gemessen.</translation>
    </message>
    <message>
        <location filename="../pages/bandwidth.py" line="100"/>
        <source>Measured upload speed: %1</source>
        <translation>Gemessene Upload-Geschwindigkeit: %1</translation>
    </message>
    <message>
        <location filename="../pages/bandwidth.py" line="110"/>
        <source>No remotes yet: add one on the Remotes page.</source>
        <translation>Noch keine Gegenstellen: Fügen Sie eine auf der Seite „Gegenstellen“ hinzu.</translation>
    </message>
    <message>
        <location filename="../pages/bandwidth.py" line="113"/>
        <source>Remote</source>
        <translation>Gegenstelle</translation>
    </message>
    <message>
        <location filename="../pages/bandwidth.py" line="113"/>
        <source>Upload</source>
        <translation>Hochladen</translation>
    </message>
    <message>
        <location filename="../pages/bandwidth.py" line="113"/>
        <source>Download</source>
        <translation>Herunterladen</translation>
    </message>
    <message>
        <location filename="../pages/bandwidth.py" line="122"/>
        <source>Upload limit for %1</source>
        <translation>Upload-Begrenzung für %1</translation>
    </message>
    <message>
        <location filename="../pages/bandwidth.py" line="123"/>
        <source>Download limit for %1</source>
        <translation>Download-Begrenzung für %1</translation>
    </message>
</context>
<context>
    <name>CloudRemoteSettings</name>
    <message>
        <location filename="../pages/cloud.py" line="459"/>
        <source>Role of the selected cloud remote</source>
        <translation>Rolle des gewählten Cloud-Speichers</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="460"/>
        <source>Set ro&amp;le</source>
        <translation>Ro&amp;lle setzen</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="461"/>
        <source>Set the role of the selected cloud remote</source>
        <translation>Die Rolle des gewählten Cloud-Speichers setzen</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="465"/>
        <source>Copies of each file to keep (numcopies)</source>
        <translation>Zu behaltende Kopien jeder Datei (numcopies)</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="466"/>
        <source>A file&apos;s content is only removed from a place when at least this many other copies are known to exist (git-annex numcopies).</source>
        <translation>Der Inhalt einer Datei wird an einem Ort nur entfernt, wenn mindestens so viele andere Kopien bekannt sind (git-annex numcopies).</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="468"/>
        <source>Set cop&amp;ies</source>
        <translation>&amp;Kopien setzen</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="469"/>
        <source>Set the number of copies to keep</source>
        <translation>Die Zahl der zu behaltenden Kopien setzen</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="473"/>
        <source>Result of the cloud setting</source>
        <translation>Ergebnis der Cloud-Einstellung</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="474"/>
        <source>Cloud role:</source>
        <translation>Cloud-Rolle:</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="481"/>
        <source>Copies of each file:</source>
        <translation>Kopien jeder Datei:</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="504"/>
        <source>Cannot read the cloud settings: %1</source>
        <translation>Die Cloud-Einstellungen lassen sich nicht lesen: %1</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="536"/>
        <source>Saved: %1 is now “%2”.</source>
        <translation>Gespeichert: %1 ist jetzt „%2“.</translation>
    </message>
    <message numerus="yes">
        <location filename="../pages/cloud.py" line="544"/>
        <source>Saved: %n copies of each file are kept.</source>
        <translation>
            <numerusform>Gespeichert: %n Kopie jeder Datei wird behalten.</numerusform>
            <numerusform>Gespeichert: %n Kopien jeder Datei werden behalten.</numerusform>
        </translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="552"/>
        <source>That did not work: %1</source>
        <translation>Das hat nicht geklappt: %1</translation>
    </message>
</context>
<context>
    <name>CloudRoles</name>
    <message>
        <location filename="../pages/cloud.py" line="51"/>
        <source>Transfer</source>
        <translation>Übergabe</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="51"/>
        <source>Backup</source>
        <translation>Sicherung</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="52"/>
        <source>Archive</source>
        <translation>Archiv</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="52"/>
        <source>Full sync</source>
        <translation>Voll synchronisiert</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="56"/>
        <source>Keeps each file only until every device has it.</source>
        <translation>Behält jede Datei nur, bis jedes Gerät sie hat.</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="57"/>
        <source>Keeps everything, old versions too.</source>
        <translation>Behält alles, auch alte Versionen.</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="58"/>
        <source>Keeps files that no device wants any more.</source>
        <translation>Behält Dateien, die kein Gerät mehr will.</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="59"/>
        <source>Keeps everything, like another device.</source>
        <translation>Behält alles, wie ein weiteres Gerät.</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="65"/>
        <source>Roles to choose from</source>
        <translation>Rollen zur Auswahl</translation>
    </message>
</context>
<context>
    <name>CloudStorageForm</name>
    <message>
        <location filename="../pages/cloud.py" line="102"/>
        <source>Kind of cloud storage</source>
        <translation>Art des Cloud-Speichers</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="103"/>
        <source>Kinds of cloud storage to choose from</source>
        <translation>Arten von Cloud-Speicher zur Auswahl</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="104"/>
        <source>WebDAV (Nextcloud, ownCloud, a NAS…)</source>
        <translation>WebDAV (Nextcloud, ownCloud, ein NAS…)</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="105"/>
        <source>S3 (Amazon S3, MinIO, Wasabi…)</source>
        <translation>S3 (Amazon S3, MinIO, Wasabi…)</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="106"/>
        <source>A folder (a mounted network share or drive)</source>
        <translation>Ein Ordner (eine eingebundene Netzwerkfreigabe oder ein Laufwerk)</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="107"/>
        <source>rsync (a server over SSH or an rsync daemon)</source>
        <translation>rsync (ein Server über SSH oder ein rsync-Dienst)</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="110"/>
        <source>Address of the cloud storage</source>
        <translation>Adresse des Cloud-Speichers</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="112"/>
        <source>S3 bucket</source>
        <translation>S3-Bucket</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="113"/>
        <source>my-sync-bucket</source>
        <translation>mein-sync-bucket</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="115"/>
        <source>S3 region</source>
        <translation>S3-Region</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="116"/>
        <source>optional, e.g. eu-west-1</source>
        <translation>optional, z. B. eu-west-1</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="118"/>
        <source>Folder of the cloud storage</source>
        <translation>Ordner des Cloud-Speichers</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="119"/>
        <source>/mnt/nas/sync</source>
        <translation>/mnt/nas/sync</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="120"/>
        <source>Brow&amp;se…</source>
        <translation>Durch&amp;suchen…</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="121"/>
        <location filename="../pages/cloud.py" line="213"/>
        <source>Choose the storage folder</source>
        <translation>Den Speicherordner wählen</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="129"/>
        <source>Cloud user name</source>
        <translation>Cloud-Benutzername</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="132"/>
        <source>Cloud password</source>
        <translation>Cloud-Passwort</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="133"/>
        <source>kept in the system keyring only</source>
        <translation>wird nur im Schlüsselbund des Systems aufbewahrt</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="134"/>
        <source>Role of the new cloud remote</source>
        <translation>Rolle des neuen Cloud-Speichers</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="149"/>
        <source>Stora&amp;ge:</source>
        <translation>Spei&amp;cher:</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="151"/>
        <location filename="../pages/cloud.py" line="200"/>
        <source>&amp;URL:</source>
        <translation>&amp;URL:</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="152"/>
        <source>&amp;Bucket:</source>
        <translation>&amp;Bucket:</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="153"/>
        <source>Re&amp;gion:</source>
        <translation>Re&amp;gion:</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="154"/>
        <source>Fol&amp;der:</source>
        <translation>Or&amp;dner:</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="155"/>
        <location filename="../pages/cloud.py" line="208"/>
        <source>&amp;User name:</source>
        <translation>&amp;Benutzername:</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="156"/>
        <location filename="../pages/cloud.py" line="209"/>
        <source>&amp;Password:</source>
        <translation>&amp;Passwort:</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="157"/>
        <source>R&amp;ole:</source>
        <translation>R&amp;olle:</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="165"/>
        <source>&amp;Join cloud storage…</source>
        <translation>Cloud-Speicher bei&amp;treten…</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="166"/>
        <source>Join cloud storage another device set up</source>
        <translation>Einem Cloud-Speicher beitreten, den ein anderes Gerät eingerichtet hat</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="170"/>
        <source>Set up on another device already? Paste the string it shares.</source>
        <translation>Schon auf einem anderen Gerät eingerichtet? Die Zeichenkette einfügen, die es teilt.</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="172"/>
        <source>Progress of adding the cloud storage</source>
        <translation>Fortschritt beim Hinzufügen des Cloud-Speichers</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="175"/>
        <source>Cloud storage status</source>
        <translation>Status des Cloud-Speichers</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="181"/>
        <source>Always encrypted: the provider sees neither file names nor content. Your devices&apos; changes and files pass through it.</source>
        <translation>Immer verschlüsselt: der Anbieter sieht weder Dateinamen noch Inhalte. Änderungen und Dateien Ihrer Geräte laufen darüber.</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="200"/>
        <source>&amp;Endpoint:</source>
        <translation>&amp;Endpunkt:</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="201"/>
        <source>https://cloud.example.org/remote.php/dav/files/me/Sync</source>
        <translation>https://cloud.example.org/remote.php/dav/files/ich/Sync</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="202"/>
        <source>empty for Amazon S3, or https://minio.example.org:9000</source>
        <translation>leer für Amazon S3, oder https://minio.example.org:9000</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="203"/>
        <source>server.example.org:/srv/sync or rsync://nas/module/sync</source>
        <translation>server.example.org:/srv/sync oder rsync://nas/modul/sync</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="208"/>
        <source>Access &amp;key ID:</source>
        <translation>Zugangs&amp;schlüssel-ID:</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="209"/>
        <source>&amp;Secret key:</source>
        <translation>&amp;Geheimer Schlüssel:</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="229"/>
        <source>Checking…</source>
        <translation>Wird geprüft…</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="230"/>
        <source>Connecting and setting up the encrypted storage…</source>
        <translation>Verbinden und den verschlüsselten Speicher einrichten…</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="231"/>
        <source>Setting its role…</source>
        <translation>Seine Rolle wird gesetzt…</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="232"/>
        <source>Uploading this folder&apos;s history (encrypted)…</source>
        <translation>Der Verlauf dieses Ordners wird hochgeladen (verschlüsselt)…</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="262"/>
        <source>Added %1; syncing through it now.</source>
        <translation>%1 hinzugefügt; es wird jetzt darüber synchronisiert.</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="263"/>
        <source>Added %1, but the first upload failed: %2 (it is tried again).</source>
        <translation>%1 hinzugefügt, aber das erste Hochladen ist fehlgeschlagen: %2 (es wird erneut versucht).</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="277"/>
        <source>Not added: %1</source>
        <translation>Nicht hinzugefügt: %1</translation>
    </message>
</context>
<context>
    <name>ConditionsBox</name>
    <message>
        <location filename="../pages/conditions.py" line="39"/>
        <location filename="../pages/conditions.py" line="40"/>
        <location filename="../pages/conditions.py" line="110"/>
        <source>When to sync</source>
        <translation>Wann synchronisiert wird</translation>
    </message>
    <message>
        <location filename="../pages/conditions.py" line="41"/>
        <source>On a metered connection</source>
        <translation>Bei getakteter Verbindung</translation>
    </message>
    <message>
        <location filename="../pages/conditions.py" line="42"/>
        <source>What to do on a metered connection</source>
        <translation>Was bei getakteter Verbindung geschieht</translation>
    </message>
    <message>
        <location filename="../pages/conditions.py" line="43"/>
        <source>On battery</source>
        <translation>Im Akkubetrieb</translation>
    </message>
    <message>
        <location filename="../pages/conditions.py" line="43"/>
        <source>What to do on battery</source>
        <translation>Was im Akkubetrieb geschieht</translation>
    </message>
    <message>
        <location filename="../pages/conditions.py" line="45"/>
        <source>Only below this battery charge</source>
        <translation>Nur unter diesem Akkustand</translation>
    </message>
    <message>
        <location filename="../pages/conditions.py" line="50"/>
        <source>at any charge</source>
        <translation>bei jedem Ladestand</translation>
    </message>
    <message>
        <location filename="../pages/conditions.py" line="52"/>
        <source>Networks this folder syncs fully on</source>
        <translation>Netzwerke, in denen dieser Ordner vollständig synchronisiert</translation>
    </message>
    <message>
        <location filename="../pages/conditions.py" line="53"/>
        <source>any network; or names, like Home, Office</source>
        <translation>jedes Netzwerk; oder Namen, etwa Zuhause, Büro</translation>
    </message>
    <message>
        <location filename="../pages/conditions.py" line="54"/>
        <source>Network connection names, separated by commas (a Wi-Fi network&apos;s name, unless you renamed the connection)</source>
        <translation>Namen von Netzwerkverbindungen, durch Kommas getrennt (der Name eines WLANs, sofern Sie die Verbindung nicht umbenannt haben)</translation>
    </message>
    <message>
        <location filename="../pages/conditions.py" line="57"/>
        <source>On other networks</source>
        <translation>In anderen Netzwerken</translation>
    </message>
    <message>
        <location filename="../pages/conditions.py" line="58"/>
        <source>What to do on other networks</source>
        <translation>Was in anderen Netzwerken geschieht</translation>
    </message>
    <message>
        <location filename="../pages/conditions.py" line="64"/>
        <source>What the conditions do now</source>
        <translation>Was die Bedingungen jetzt bewirken</translation>
    </message>
    <message>
        <location filename="../pages/conditions.py" line="67"/>
        <source>On a &amp;metered connection:</source>
        <translation>Bei &amp;getakteter Verbindung:</translation>
    </message>
    <message>
        <location filename="../pages/conditions.py" line="68"/>
        <source>On &amp;battery:</source>
        <translation>Im &amp;Akkubetrieb:</translation>
    </message>
    <message>
        <location filename="../pages/conditions.py" line="72"/>
        <source>&amp;Only below:</source>
        <translation>&amp;Nur unter:</translation>
    </message>
    <message>
        <location filename="../pages/conditions.py" line="75"/>
        <source>Only on net&amp;works:</source>
        <translation>Nur in &amp;Netzwerken:</translation>
    </message>
    <message>
        <location filename="../pages/conditions.py" line="76"/>
        <source>On &amp;other networks:</source>
        <translation>In &amp;anderen Netzwerken:</translation>
    </message>
    <message>
        <location filename="../pages/conditions.py" line="80"/>
        <source>Holding file content: changes, new files and deletions still reach your other devices; the content of files waits. The tray&apos;s “Sync anyway for an hour” lifts these conditions for a while.</source>
        <translation>Dateiinhalte zurückhalten: Änderungen, neue Dateien und Löschungen erreichen Ihre anderen Geräte weiterhin; der Inhalt der Dateien wartet. „Trotzdem eine Stunde synchronisieren“ im Menü des Symbols hebt diese Bedingungen eine Weile auf.</translation>
    </message>
    <message>
        <location filename="../pages/conditions.py" line="97"/>
        <source>Sync everything</source>
        <translation>Alles synchronisieren</translation>
    </message>
    <message>
        <location filename="../pages/conditions.py" line="59"/>
        <location filename="../pages/conditions.py" line="98"/>
        <source>Sync changes, hold file content</source>
        <translation>Änderungen synchronisieren, Dateiinhalte zurückhalten</translation>
    </message>
    <message>
        <location filename="../pages/conditions.py" line="60"/>
        <location filename="../pages/conditions.py" line="99"/>
        <source>Pause syncing</source>
        <translation>Synchronisierung pausieren</translation>
    </message>
    <message>
        <location filename="../pages/conditions.py" line="109"/>
        <source>When %1 syncs</source>
        <translation>Wann %1 synchronisiert wird</translation>
    </message>
    <message>
        <location filename="../pages/conditions.py" line="122"/>
        <source>Cannot read this folder&apos;s settings: %1</source>
        <translation>Die Einstellungen dieses Ordners können nicht gelesen werden: %1</translation>
    </message>
    <message>
        <location filename="../pages/conditions.py" line="172"/>
        <source>Could not change it: %1</source>
        <translation>Konnte nicht geändert werden: %1</translation>
    </message>
    <message>
        <location filename="../pages/conditions.py" line="189"/>
        <source>Now: %1</source>
        <translation>Jetzt: %1</translation>
    </message>
    <message>
        <location filename="../pages/conditions.py" line="191"/>
        <source>Now: syncing anyway, as you asked</source>
        <translation>Jetzt: wie gewünscht wird trotzdem synchronisiert</translation>
    </message>
    <message>
        <location filename="../pages/conditions.py" line="193"/>
        <source>Now: syncing everything</source>
        <translation>Jetzt: alles wird synchronisiert</translation>
    </message>
</context>
<context>
    <name>ConflictsWindow</name>
    <message>
        <location filename="../conflicts_window.py" line="65"/>
        <source>Conflicts – SyncAssistant</source>
        <translation>Konflikte – SyncAssistant</translation>
    </message>
    <message>
        <location filename="../conflicts_window.py" line="66"/>
        <source>Conflicts</source>
        <translation>Konflikte</translation>
    </message>
    <message>
        <location filename="../conflicts_window.py" line="70"/>
        <source>Open conflicts</source>
        <translation>Offene Konflikte</translation>
    </message>
    <message>
        <location filename="../conflicts_window.py" line="81"/>
        <source>Conflicted file</source>
        <translation>Datei mit Konflikt</translation>
    </message>
    <message>
        <location filename="../conflicts_window.py" line="85"/>
        <source>What happened</source>
        <translation>Was passiert ist</translation>
    </message>
    <message>
        <location filename="../conflicts_window.py" line="88"/>
        <source>Versions of the file</source>
        <translation>Versionen der Datei</translation>
    </message>
    <message>
        <location filename="../conflicts_window.py" line="90"/>
        <source>Version</source>
        <translation>Version</translation>
    </message>
    <message>
        <location filename="../conflicts_window.py" line="90"/>
        <source>Came from</source>
        <translation>Stammt von</translation>
    </message>
    <message>
        <location filename="../conflicts_window.py" line="90"/>
        <source>Changed</source>
        <translation>Geändert</translation>
    </message>
    <message>
        <location filename="../conflicts_window.py" line="91"/>
        <source>Size</source>
        <translation>Größe</translation>
    </message>
    <message>
        <location filename="../conflicts_window.py" line="101"/>
        <source>Differences between the versions</source>
        <translation>Unterschiede zwischen den Versionen</translation>
    </message>
    <message>
        <location filename="../conflicts_window.py" line="106"/>
        <source>Image previews</source>
        <translation>Bildvorschauen</translation>
    </message>
    <message>
        <location filename="../conflicts_window.py" line="111"/>
        <source>Preview</source>
        <translation>Vorschau</translation>
    </message>
    <message>
        <location filename="../conflicts_window.py" line="116"/>
        <source>&amp;Keep this version</source>
        <translation>Diese &amp;Version behalten</translation>
    </message>
    <message>
        <location filename="../conflicts_window.py" line="117"/>
        <source>Keep the selected version and delete the others</source>
        <translation>Die ausgewählte Version behalten und die anderen löschen</translation>
    </message>
    <message>
        <location filename="../conflicts_window.py" line="118"/>
        <source>The other versions are deleted (they stay in the folder&apos;s history) and this one gets the original name.</source>
        <translation>Die anderen Versionen werden gelöscht (sie bleiben im Verlauf des Ordners erhalten) und diese bekommt den ursprünglichen Namen.</translation>
    </message>
    <message>
        <location filename="../conflicts_window.py" line="121"/>
        <source>Keep &amp;both</source>
        <translation>&amp;Beide behalten</translation>
    </message>
    <message>
        <location filename="../conflicts_window.py" line="122"/>
        <source>Keep every version under its current name</source>
        <translation>Jede Version unter ihrem aktuellen Namen behalten</translation>
    </message>
    <message>
        <location filename="../conflicts_window.py" line="123"/>
        <source>Every version stays, under the names shown above.</source>
        <translation>Alle Versionen bleiben erhalten, unter den oben angezeigten Namen.</translation>
    </message>
    <message>
        <location filename="../conflicts_window.py" line="125"/>
        <source>&amp;Open folder</source>
        <translation>Ordner ö&amp;ffnen</translation>
    </message>
    <message>
        <location filename="../conflicts_window.py" line="126"/>
        <source>Open the folder that holds the versions</source>
        <translation>Den Ordner öffnen, der die Versionen enthält</translation>
    </message>
    <message>
        <location filename="../conflicts_window.py" line="130"/>
        <source>Result</source>
        <translation>Ergebnis</translation>
    </message>
    <message>
        <location filename="../conflicts_window.py" line="147"/>
        <source>No conflicts. When a file is changed on two devices at the same time, both versions are kept and show up here for you to choose.</source>
        <translation>Keine Konflikte. Wird eine Datei gleichzeitig auf zwei Geräten geändert, bleiben beide Versionen erhalten und erscheinen hier, damit Sie wählen können.</translation>
    </message>
    <message>
        <location filename="../conflicts_window.py" line="151"/>
        <source>No conflicts</source>
        <translation>Keine Konflikte</translation>
    </message>
    <message>
        <location filename="../conflicts_window.py" line="181"/>
        <source>another device</source>
        <translation>einem anderen Gerät</translation>
    </message>
    <message>
        <location filename="../conflicts_window.py" line="200"/>
        <source>from %1, %2</source>
        <translation>von %1, %2</translation>
    </message>
    <message>
        <location filename="../conflicts_window.py" line="231"/>
        <source>In %1, this file was changed on this device and on %2 before they synced. Both versions were kept; choose what to do.</source>
        <translation>In %1 wurde diese Datei auf diesem Gerät und auf %2 geändert, bevor sie synchronisiert wurden. Beide Versionen wurden behalten; wählen Sie, was geschehen soll.</translation>
    </message>
    <message>
        <location filename="../conflicts_window.py" line="240"/>
        <source>Looking at the versions…</source>
        <translation>Versionen werden untersucht…</translation>
    </message>
    <message>
        <location filename="../conflicts_window.py" line="249"/>
        <source>Could not read the versions: %1</source>
        <translation>Die Versionen konnten nicht gelesen werden: %1</translation>
    </message>
    <message>
        <location filename="../conflicts_window.py" line="256"/>
        <source>this device (%1)</source>
        <translation>dieses Gerät (%1)</translation>
    </message>
    <message>
        <location filename="../conflicts_window.py" line="257"/>
        <source>this device</source>
        <translation>diesem Gerät</translation>
    </message>
    <message>
        <location filename="../conflicts_window.py" line="259"/>
        <source>unknown</source>
        <translation>unbekannt</translation>
    </message>
    <message>
        <location filename="../conflicts_window.py" line="264"/>
        <source>The content of this version is not on this device yet.</source>
        <translation>Der Inhalt dieser Version ist noch nicht auf diesem Gerät.</translation>
    </message>
    <message>
        <location filename="../conflicts_window.py" line="307"/>
        <source>These files are not text: open the folder to compare them.</source>
        <translation>Diese Dateien sind kein Text: Öffnen Sie den Ordner, um sie zu vergleichen.</translation>
    </message>
    <message>
        <location filename="../conflicts_window.py" line="308"/>
        <source>The content of a version is on another device; it is fetched when content syncs.</source>
        <translation>Der Inhalt einer Version liegt auf einem anderen Gerät; er wird geholt, wenn Inhalte synchronisiert werden.</translation>
    </message>
    <message>
        <location filename="../conflicts_window.py" line="310"/>
        <source>One version is a folder; open the folder to look inside.</source>
        <translation>Eine Version ist ein Ordner; öffnen Sie den Ordner, um hineinzuschauen.</translation>
    </message>
    <message>
        <location filename="../conflicts_window.py" line="311"/>
        <source>A version is no longer there.</source>
        <translation>Eine Version ist nicht mehr vorhanden.</translation>
    </message>
    <message>
        <location filename="../conflicts_window.py" line="314"/>
        <source>No preview.</source>
        <translation>Keine Vorschau.</translation>
    </message>
    <message>
        <location filename="../conflicts_window.py" line="319"/>
        <source>The versions have the same text.</source>
        <translation>Die Versionen haben denselben Text.</translation>
    </message>
    <message>
        <location filename="../conflicts_window.py" line="321"/>
        <source>Lines only in %1 are red; only in %2, green.</source>
        <translation>Zeilen nur in %1 sind rot, nur in %2 grün.</translation>
    </message>
    <message>
        <location filename="../conflicts_window.py" line="345"/>
        <source>Preview of %1</source>
        <translation>Vorschau von %1</translation>
    </message>
    <message>
        <location filename="../conflicts_window.py" line="356"/>
        <source>(no preview)</source>
        <translation>(keine Vorschau)</translation>
    </message>
    <message>
        <location filename="../conflicts_window.py" line="382"/>
        <source>Keep this version?</source>
        <translation>Diese Version behalten?</translation>
    </message>
    <message>
        <location filename="../conflicts_window.py" line="383"/>
        <source>Keep %1 as %2 and delete %3? Deleted versions stay in the folder&apos;s history.</source>
        <translation>%1 als %2 behalten und %3 löschen? Gelöschte Versionen bleiben im Verlauf des Ordners erhalten.</translation>
    </message>
    <message>
        <location filename="../conflicts_window.py" line="396"/>
        <source>Kept %1. The change is syncing to your other devices.</source>
        <translation>%1 behalten. Die Änderung wird mit Ihren anderen Geräten synchronisiert.</translation>
    </message>
    <message>
        <location filename="../conflicts_window.py" line="404"/>
        <source>Both versions stay in the folder under the names shown.</source>
        <translation>Beide Versionen bleiben unter den angezeigten Namen im Ordner.</translation>
    </message>
    <message>
        <location filename="../conflicts_window.py" line="415"/>
        <source>That did not work: %1</source>
        <translation>Das hat nicht geklappt: %1</translation>
    </message>
    <message>
        <location filename="../conflicts_window.py" line="421"/>
        <source>this folder is not running</source>
        <translation>dieser Ordner läuft nicht</translation>
    </message>
</context>
<context>
    <name>DevicesPage</name>
    <message>
        <location filename="../pages/devices.py" line="42"/>
        <location filename="../pages/devices.py" line="80"/>
        <source>Devices</source>
        <translation>Geräte</translation>
    </message>
    <message>
        <location filename="../pages/devices.py" line="47"/>
        <source>&amp;Folder:</source>
        <translation>&amp;Ordner:</translation>
    </message>
    <message>
        <location filename="../pages/devices.py" line="50"/>
        <source>Devices connected to this folder</source>
        <translation>Mit diesem Ordner verbundene Geräte</translation>
    </message>
    <message>
        <location filename="../pages/devices.py" line="52"/>
        <source>Device</source>
        <translation>Gerät</translation>
    </message>
    <message>
        <location filename="../pages/devices.py" line="52"/>
        <source>Connected</source>
        <translation>Verbunden</translation>
    </message>
    <message>
        <location filename="../pages/devices.py" line="52"/>
        <source>Since</source>
        <translation>Seit</translation>
    </message>
    <message>
        <location filename="../pages/devices.py" line="53"/>
        <source>Last seen</source>
        <translation>Zuletzt gesehen</translation>
    </message>
    <message>
        <location filename="../pages/devices.py" line="60"/>
        <source>No device is connected to this folder by a code yet: choose “Connect another device…” in the SyncAssistant menu.</source>
        <translation>Noch kein Gerät ist mit einem Code mit diesem Ordner verbunden: Wählen Sie „Weiteres Gerät verbinden…“ im SyncAssistant-Menü.</translation>
    </message>
    <message>
        <location filename="../pages/devices.py" line="64"/>
        <source>&amp;Connect another device…</source>
        <translation>Weiteres Gerät &amp;verbinden…</translation>
    </message>
    <message>
        <location filename="../pages/devices.py" line="65"/>
        <source>Connect another device with a code</source>
        <translation>Weiteres Gerät mit einem Code verbinden</translation>
    </message>
    <message>
        <location filename="../pages/devices.py" line="67"/>
        <source>&amp;Disconnect…</source>
        <translation>&amp;Trennen…</translation>
    </message>
    <message>
        <location filename="../pages/devices.py" line="68"/>
        <source>Disconnect the selected device</source>
        <translation>Das gewählte Gerät trennen</translation>
    </message>
    <message>
        <location filename="../pages/devices.py" line="77"/>
        <source>Result of the change</source>
        <translation>Ergebnis der Änderung</translation>
    </message>
    <message>
        <location filename="../pages/devices.py" line="81"/>
        <source>Devices connected with a one-time code. Each may only sync this folder (its key runs git-annex on this folder and nothing else). Disconnecting one stops syncing with it; no file is deleted, here or there.</source>
        <translation>Mit einem Einmal-Code verbundene Geräte. Jedes darf nur diesen Ordner synchronisieren (sein Schlüssel führt git-annex in diesem Ordner aus und sonst nichts). Wer eines trennt, beendet die Synchronisierung mit ihm; keine Datei wird gelöscht, weder hier noch dort.</translation>
    </message>
    <message>
        <location filename="../pages/devices.py" line="112"/>
        <source>Cannot read the devices: %1</source>
        <translation>Die Geräte lassen sich nicht lesen: %1</translation>
    </message>
    <message>
        <location filename="../pages/devices.py" line="118"/>
        <source>through the cloud storage “%1”</source>
        <translation>über den Cloud-Speicher „%1“</translation>
    </message>
    <message>
        <location filename="../pages/devices.py" line="120"/>
        <source>over ssh, both ways</source>
        <translation>über ssh, in beide Richtungen</translation>
    </message>
    <message>
        <location filename="../pages/devices.py" line="122"/>
        <source>over ssh: this device reaches it</source>
        <translation>über ssh: dieses Gerät erreicht es</translation>
    </message>
    <message>
        <location filename="../pages/devices.py" line="124"/>
        <source>over ssh: it reaches this device</source>
        <translation>über ssh: es erreicht dieses Gerät</translation>
    </message>
    <message>
        <location filename="../pages/devices.py" line="125"/>
        <source>not connected</source>
        <translation>nicht verbunden</translation>
    </message>
    <message>
        <location filename="../pages/devices.py" line="154"/>
        <source>not known</source>
        <translation>unbekannt</translation>
    </message>
    <message>
        <location filename="../pages/devices.py" line="169"/>
        <source>Stop syncing this folder with %1? Its key can no longer reach this device, and no file is deleted, here or there.</source>
        <translation>Diesen Ordner nicht mehr mit %1 synchronisieren? Sein Schlüssel erreicht dieses Gerät dann nicht mehr, und keine Datei wird gelöscht, weder hier noch dort.</translation>
    </message>
    <message>
        <location filename="../pages/devices.py" line="172"/>
        <source>Forget %1? The two sync through the cloud storage “%2”, which stays (other devices may sync through it too): remove it on the Remotes page to stop that.</source>
        <translation>%1 vergessen? Die beiden synchronisieren über den Cloud-Speicher „%2“, der bleibt (auch andere Geräte können darüber synchronisieren): Entfernen Sie ihn auf der Seite „Gegenstellen“, um das zu beenden.</translation>
    </message>
    <message>
        <location filename="../pages/devices.py" line="175"/>
        <source>Disconnect %1?</source>
        <translation>%1 trennen?</translation>
    </message>
    <message>
        <location filename="../pages/devices.py" line="182"/>
        <source>Not disconnected: %1</source>
        <translation>Nicht getrennt: %1</translation>
    </message>
    <message>
        <location filename="../pages/devices.py" line="184"/>
        <source>Disconnected %1. No file was deleted.</source>
        <translation>%1 getrennt. Keine Datei wurde gelöscht.</translation>
    </message>
</context>
<context>
    <name>ErrorLabel</name>
    <message>
        <location filename="../widgets.py" line="24"/>
        <source>Problem with %1</source>
        <translation>Problem mit %1</translation>
    </message>
    <message>
        <location filename="../widgets.py" line="24"/>
        <source>Problem</source>
        <translation>Problem</translation>
    </message>
</context>
<context>
    <name>GeneralPage</name>
    <message>
        <location filename="../pages/general.py" line="42"/>
        <location filename="../pages/general.py" line="74"/>
        <source>General</source>
        <translation>Allgemein</translation>
    </message>
    <message>
        <location filename="../pages/general.py" line="44"/>
        <source>&amp;Start SyncAssistant when I log in</source>
        <translation>SyncAssistant beim &amp;Anmelden starten</translation>
    </message>
    <message>
        <location filename="../pages/general.py" line="45"/>
        <source>Start at login</source>
        <translation>Beim Anmelden starten</translation>
    </message>
    <message>
        <location filename="../pages/general.py" line="50"/>
        <source>Show &amp;notifications about conflicts and problems</source>
        <translation>&amp;Benachrichtigungen zu Konflikten und Problemen anzeigen</translation>
    </message>
    <message>
        <location filename="../pages/general.py" line="51"/>
        <source>Notifications</source>
        <translation>Benachrichtigungen</translation>
    </message>
    <message>
        <location filename="../pages/general.py" line="54"/>
        <source>Send a &amp;test notification</source>
        <translation>&amp;Test-Benachrichtigung senden</translation>
    </message>
    <message>
        <location filename="../pages/general.py" line="55"/>
        <source>Send a test notification</source>
        <translation>Eine Test-Benachrichtigung senden</translation>
    </message>
    <message>
        <location filename="../pages/general.py" line="63"/>
        <source>Where passwords are kept</source>
        <translation>Wo Passwörter aufbewahrt werden</translation>
    </message>
    <message>
        <location filename="../pages/general.py" line="66"/>
        <source>Passphrases and tokens are kept only in the system keyring (%1), never in a settings file.</source>
        <translation>Passphrasen und Tokens werden nur im Schlüsselbund des Systems (%1) aufbewahrt, nie in einer Einstellungsdatei.</translation>
    </message>
    <message>
        <location filename="../pages/general.py" line="69"/>
        <source>No system keyring is available (%1), so passphrases and tokens cannot be saved: you will be asked for them when needed. They are never written to a settings file.</source>
        <translation>Es ist kein Schlüsselbund des Systems verfügbar (%1), daher können Passphrasen und Tokens nicht gespeichert werden: Sie werden bei Bedarf danach gefragt. Sie werden nie in eine Einstellungsdatei geschrieben.</translation>
    </message>
    <message>
        <location filename="../pages/general.py" line="76"/>
        <source>Adds %1, so your desktop starts SyncAssistant in the tray.</source>
        <translation>Legt %1 an, damit Ihr Desktop SyncAssistant im Infobereich startet.</translation>
    </message>
    <message>
        <location filename="../pages/general.py" line="83"/>
        <source>Metered connections, battery and networks</source>
        <translation>Getaktete Verbindungen, Akku und Netzwerke</translation>
    </message>
    <message>
        <location filename="../pages/general.py" line="84"/>
        <source>Each folder can hold its file content or pause on a metered connection, on battery or away from the networks you name.</source>
        <translation>Jeder Ordner kann bei getakteter Verbindung, im Akkubetrieb oder außerhalb der von Ihnen genannten Netzwerke seine Dateiinhalte zurückhalten oder pausieren.</translation>
    </message>
    <message>
        <location filename="../pages/general.py" line="86"/>
        <source>Choose &amp;when each folder syncs…</source>
        <translation>Festlegen, &amp;wann jeder Ordner synchronisiert…</translation>
    </message>
    <message>
        <location filename="../pages/general.py" line="87"/>
        <source>Choose when each folder syncs</source>
        <translation>Festlegen, wann jeder Ordner synchronisiert</translation>
    </message>
    <message>
        <location filename="../pages/general.py" line="94"/>
        <source>Privacy</source>
        <translation>Datenschutz</translation>
    </message>
    <message>
        <location filename="../pages/general.py" line="102"/>
        <source>Could not change it: %1</source>
        <translation>Konnte nicht geändert werden: %1</translation>
    </message>
    <message>
        <location filename="../pages/general.py" line="110"/>
        <source>SyncAssistant</source>
        <translation>SyncAssistant</translation>
    </message>
    <message>
        <location filename="../pages/general.py" line="111"/>
        <source>Notifications work. You will hear from us about conflicts and problems that need you.</source>
        <translation>Benachrichtigungen funktionieren. Sie werden über Konflikte und Probleme informiert, die Ihr Eingreifen brauchen.</translation>
    </message>
</context>
<context>
    <name>HistoryWindow</name>
    <message>
        <location filename="../history_window.py" line="70"/>
        <source>Recent changes – SyncAssistant</source>
        <translation>Letzte Änderungen – SyncAssistant</translation>
    </message>
    <message>
        <location filename="../history_window.py" line="71"/>
        <source>Recent changes</source>
        <translation>Letzte Änderungen</translation>
    </message>
    <message>
        <location filename="../history_window.py" line="75"/>
        <location filename="../history_window.py" line="99"/>
        <source>Folder</source>
        <translation>Ordner</translation>
    </message>
    <message>
        <location filename="../history_window.py" line="77"/>
        <location filename="../history_window.py" line="98"/>
        <source>Device</source>
        <translation>Gerät</translation>
    </message>
    <message>
        <location filename="../history_window.py" line="79"/>
        <source>File name contains…</source>
        <translation>Dateiname enthält…</translation>
    </message>
    <message>
        <location filename="../history_window.py" line="80"/>
        <source>File name filter</source>
        <translation>Filter nach Dateiname</translation>
    </message>
    <message>
        <location filename="../history_window.py" line="87"/>
        <source>Folder:</source>
        <translation>Ordner:</translation>
    </message>
    <message>
        <location filename="../history_window.py" line="89"/>
        <source>Device:</source>
        <translation>Gerät:</translation>
    </message>
    <message>
        <location filename="../history_window.py" line="94"/>
        <source>Changes, newest first</source>
        <translation>Änderungen, neueste zuerst</translation>
    </message>
    <message>
        <location filename="../history_window.py" line="98"/>
        <source>When</source>
        <translation>Wann</translation>
    </message>
    <message>
        <location filename="../history_window.py" line="98"/>
        <source>Change</source>
        <translation>Änderung</translation>
    </message>
    <message>
        <location filename="../history_window.py" line="98"/>
        <source>File</source>
        <translation>Datei</translation>
    </message>
    <message>
        <location filename="../history_window.py" line="99"/>
        <source>Size</source>
        <translation>Größe</translation>
    </message>
    <message>
        <location filename="../history_window.py" line="108"/>
        <source>Status</source>
        <translation>Status</translation>
    </message>
    <message>
        <location filename="../history_window.py" line="111"/>
        <source>Old versions on this device</source>
        <translation>Alte Versionen auf diesem Gerät</translation>
    </message>
    <message>
        <location filename="../history_window.py" line="114"/>
        <source>&amp;Show in folder</source>
        <translation>Im Ordner &amp;zeigen</translation>
    </message>
    <message>
        <location filename="../history_window.py" line="115"/>
        <source>Show the file in its folder</source>
        <translation>Die Datei in ihrem Ordner zeigen</translation>
    </message>
    <message>
        <location filename="../history_window.py" line="117"/>
        <source>&amp;Restore…</source>
        <translation>&amp;Wiederherstellen…</translation>
    </message>
    <message>
        <location filename="../history_window.py" line="118"/>
        <source>The file&apos;s versions, to restore one</source>
        <translation>Die Versionen der Datei, um eine wiederherzustellen</translation>
    </message>
    <message>
        <location filename="../history_window.py" line="152"/>
        <source>Looking at old versions on this device…</source>
        <translation>Alte Versionen auf diesem Gerät werden gesucht…</translation>
    </message>
    <message numerus="yes">
        <location filename="../history_window.py" line="167"/>
        <source>Old versions kept on this device: %n (%1).</source>
        <translation>
            <numerusform>Alte Versionen auf diesem Gerät: %n (%1).</numerusform>
            <numerusform>Alte Versionen auf diesem Gerät: %n (%1).</numerusform>
        </translation>
    </message>
    <message>
        <location filename="../history_window.py" line="170"/>
        <source>Every version is kept (syncassistant versions PATH --keep-days N sets a limit).</source>
        <translation>Jede Version wird behalten (syncassistant versions PFAD --keep-days N setzt eine Grenze).</translation>
    </message>
    <message numerus="yes">
        <location filename="../history_window.py" line="172"/>
        <source>Kept for %n day(s), then dropped here where other copies exist (syncassistant versions PATH --apply).</source>
        <translation>
            <numerusform>%n Tag behalten, dann hier entfernt, wo es andere Kopien gibt (syncassistant versions PFAD --apply).</numerusform>
            <numerusform>%n Tage behalten, dann hier entfernt, wo es andere Kopien gibt (syncassistant versions PFAD --apply).</numerusform>
        </translation>
    </message>
    <message>
        <location filename="../history_window.py" line="175"/>
        <source>(Some folders could not be looked at.)</source>
        <translation>(Einige Ordner konnten nicht untersucht werden.)</translation>
    </message>
    <message>
        <location filename="../history_window.py" line="191"/>
        <location filename="../history_window.py" line="271"/>
        <source>Reading the history…</source>
        <translation>Verlauf wird gelesen…</translation>
    </message>
    <message>
        <location filename="../history_window.py" line="214"/>
        <source>All folders</source>
        <translation>Alle Ordner</translation>
    </message>
    <message>
        <location filename="../history_window.py" line="226"/>
        <source>All devices</source>
        <translation>Alle Geräte</translation>
    </message>
    <message>
        <location filename="../history_window.py" line="234"/>
        <source>added</source>
        <translation>hinzugefügt</translation>
    </message>
    <message>
        <location filename="../history_window.py" line="234"/>
        <source>changed</source>
        <translation>geändert</translation>
    </message>
    <message>
        <location filename="../history_window.py" line="234"/>
        <source>moved</source>
        <translation>verschoben</translation>
    </message>
    <message>
        <location filename="../history_window.py" line="235"/>
        <source>deleted</source>
        <translation>gelöscht</translation>
    </message>
    <message>
        <location filename="../history_window.py" line="251"/>
        <source>%1 (from %2)</source>
        <translation>%1 (von %2)</translation>
    </message>
    <message>
        <location filename="../history_window.py" line="253"/>
        <source>%1 by a merge</source>
        <translation>%1 beim Zusammenführen</translation>
    </message>
    <message>
        <location filename="../history_window.py" line="259"/>
        <source>git author: %1</source>
        <translation>git-Autor: %1</translation>
    </message>
    <message>
        <location filename="../history_window.py" line="261"/>
        <source>Made when two devices&apos; changes were joined: a conflict keeps each version under its own name.</source>
        <translation>Entstanden, als die Änderungen zweier Geräte zusammengeführt wurden: Bei einem Konflikt behält jede Version einen eigenen Namen.</translation>
    </message>
    <message>
        <location filename="../history_window.py" line="273"/>
        <source>Could not read the history of %1</source>
        <translation>Der Verlauf von %1 konnte nicht gelesen werden</translation>
    </message>
    <message numerus="yes">
        <location filename="../history_window.py" line="275"/>
        <source>%n change(s)</source>
        <translation>
            <numerusform>%n Änderung</numerusform>
            <numerusform>%n Änderungen</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>InviteDialog</name>
    <message>
        <location filename="../invite_dialog.py" line="151"/>
        <source>Connect another device – SyncAssistant</source>
        <translation>Weiteres Gerät verbinden – SyncAssistant</translation>
    </message>
    <message>
        <location filename="../invite_dialog.py" line="156"/>
        <source>Folder to share</source>
        <translation>Ordner, der geteilt wird</translation>
    </message>
    <message>
        <location filename="../invite_dialog.py" line="158"/>
        <source>&amp;Folder:</source>
        <translation>&amp;Ordner:</translation>
    </message>
    <message>
        <location filename="../invite_dialog.py" line="162"/>
        <source>Connect through the cloud storage if needed</source>
        <translation>Bei Bedarf über den Cloud-Speicher verbinden</translation>
    </message>
    <message>
        <location filename="../invite_dialog.py" line="164"/>
        <source>Also give the other device the cloud storage&apos;s user name and password</source>
        <translation>Dem anderen Gerät auch Benutzername und Passwort des Cloud-Speichers geben</translation>
    </message>
    <message>
        <location filename="../invite_dialog.py" line="166"/>
        <source>Share the cloud storage&apos;s password</source>
        <translation>Das Passwort des Cloud-Speichers teilen</translation>
    </message>
    <message>
        <location filename="../invite_dialog.py" line="167"/>
        <source>&amp;Get a code</source>
        <translation>Code &amp;holen</translation>
    </message>
    <message>
        <location filename="../invite_dialog.py" line="168"/>
        <source>Get a one-time code</source>
        <translation>Einen Einmal-Code holen</translation>
    </message>
    <message>
        <location filename="../invite_dialog.py" line="173"/>
        <source>On the other device, choose “Join with a code…” in the SyncAssistant menu and type this code:</source>
        <translation>Wählen Sie auf dem anderen Gerät „Mit Code beitreten…“ im SyncAssistant-Menü und geben Sie diesen Code ein:</translation>
    </message>
    <message>
        <location filename="../invite_dialog.py" line="177"/>
        <source>One-time code</source>
        <translation>Einmal-Code</translation>
    </message>
    <message>
        <location filename="../invite_dialog.py" line="185"/>
        <source>&amp;Copy</source>
        <translation>&amp;Kopieren</translation>
    </message>
    <message>
        <location filename="../invite_dialog.py" line="186"/>
        <source>Copy the code</source>
        <translation>Den Code kopieren</translation>
    </message>
    <message>
        <location filename="../invite_dialog.py" line="191"/>
        <source>The command to type instead</source>
        <translation>Der Befehl, der stattdessen eingegeben werden kann</translation>
    </message>
    <message>
        <location filename="../invite_dialog.py" line="210"/>
        <source>Connect another device</source>
        <translation>Weiteres Gerät verbinden</translation>
    </message>
    <message>
        <location filename="../invite_dialog.py" line="211"/>
        <source>A one-time code connects another device to this folder: they sync directly over ssh where one can reach the other, else through the folder&apos;s cloud storage. The code works once, for ten minutes.</source>
        <translation>Ein Einmal-Code verbindet ein weiteres Gerät mit diesem Ordner: Die Geräte synchronisieren direkt über ssh, wo eines das andere erreicht, sonst über den Cloud-Speicher des Ordners. Der Code gilt einmal, zehn Minuten lang.</translation>
    </message>
    <message>
        <location filename="../invite_dialog.py" line="236"/>
        <source>Add a folder first (Settings → Folders).</source>
        <translation>Fügen Sie zuerst einen Ordner hinzu (Einstellungen → Ordner).</translation>
    </message>
    <message>
        <location filename="../invite_dialog.py" line="238"/>
        <source>Folder: %1</source>
        <translation>Ordner: %1</translation>
    </message>
    <message>
        <location filename="../invite_dialog.py" line="256"/>
        <source>If the devices cannot reach each other, connect them through the cloud storage “%1”</source>
        <translation>Wenn die Geräte einander nicht erreichen, über den Cloud-Speicher „%1“ verbinden</translation>
    </message>
    <message>
        <location filename="../invite_dialog.py" line="279"/>
        <source>Asking the invitation server for a code…</source>
        <translation>Der Einladungsserver wird nach einem Code gefragt…</translation>
    </message>
    <message>
        <location filename="../invite_dialog.py" line="287"/>
        <source>or in a terminal there: %1</source>
        <translation>oder dort in einem Terminal: %1</translation>
    </message>
    <message>
        <location filename="../invite_dialog.py" line="289"/>
        <source>Waiting for the other device to join…</source>
        <translation>Warten, bis das andere Gerät beitritt…</translation>
    </message>
    <message>
        <location filename="../invite_dialog.py" line="301"/>
        <source>Code copied. Waiting for the other device to join…</source>
        <translation>Code kopiert. Warten, bis das andere Gerät beitritt…</translation>
    </message>
    <message>
        <location filename="../invite_dialog.py" line="302"/>
        <source>Code copied.</source>
        <translation>Code kopiert.</translation>
    </message>
    <message>
        <location filename="../invite_dialog.py" line="321"/>
        <source>&amp;Get a new code</source>
        <translation>Neuen Code &amp;holen</translation>
    </message>
</context>
<context>
    <name>JoinCloudDialog</name>
    <message>
        <location filename="../pages/cloud.py" line="300"/>
        <source>Join cloud storage – SyncAssistant</source>
        <translation>Cloud-Speicher beitreten – SyncAssistant</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="302"/>
        <source>Join cloud storage</source>
        <translation>Cloud-Speicher beitreten</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="305"/>
        <source>Share string</source>
        <translation>Geteilte Zeichenkette</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="306"/>
        <source>syncassistant-cloud:v1:…</source>
        <translation>syncassistant-cloud:v1:…</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="309"/>
        <source>Folder for this device&apos;s copy</source>
        <translation>Ordner für die Kopie dieses Geräts</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="311"/>
        <source>Bro&amp;wse…</source>
        <translation>Durchsu&amp;chen…</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="312"/>
        <location filename="../pages/cloud.py" line="375"/>
        <source>Choose the folder for this device&apos;s copy</source>
        <translation>Den Ordner für die Kopie dieses Geräts wählen</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="320"/>
        <source>Cloud user name for joining</source>
        <translation>Cloud-Benutzername zum Beitreten</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="323"/>
        <source>Cloud password for joining</source>
        <translation>Cloud-Passwort zum Beitreten</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="324"/>
        <source>kept in the system keyring only</source>
        <translation>wird nur im Schlüsselbund des Systems aufbewahrt</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="326"/>
        <source>&amp;Share string:</source>
        <translation>&amp;Geteilte Zeichenkette:</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="327"/>
        <source>&amp;Folder:</source>
        <translation>&amp;Ordner:</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="328"/>
        <source>&amp;User name:</source>
        <translation>&amp;Benutzername:</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="329"/>
        <source>&amp;Password:</source>
        <translation>&amp;Passwort:</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="334"/>
        <source>Progress of joining</source>
        <translation>Fortschritt beim Beitreten</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="337"/>
        <source>Join status</source>
        <translation>Status des Beitritts</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="339"/>
        <source>&amp;Join</source>
        <translation>&amp;Beitreten</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="340"/>
        <source>Join the cloud storage</source>
        <translation>Dem Cloud-Speicher beitreten</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="342"/>
        <source>Close</source>
        <translation>Schließen</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="346"/>
        <source>On the device that set up the cloud storage, run “syncassistant cloud share FOLDER NAME” and paste what it prints here. It holds the encryption key: keep it secret.</source>
        <translation>Auf dem Gerät, das den Cloud-Speicher eingerichtet hat, „syncassistant cloud share ORDNER NAME“ ausführen und die Ausgabe hier einfügen. Sie enthält den Schlüssel: geheim halten.</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="381"/>
        <source>Checking…</source>
        <translation>Wird geprüft…</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="382"/>
        <source>Downloading the history from the cloud storage…</source>
        <translation>Der Verlauf wird aus dem Cloud-Speicher geladen…</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="383"/>
        <source>Setting up the folder…</source>
        <translation>Der Ordner wird eingerichtet…</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="393"/>
        <source>paste the share string</source>
        <translation>die geteilte Zeichenkette einfügen</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="420"/>
        <source>Not joined: %1</source>
        <translation>Nicht beigetreten: %1</translation>
    </message>
    <message>
        <location filename="../pages/cloud.py" line="425"/>
        <source>Joined: %1 is a synced copy now.</source>
        <translation>Beigetreten: %1 ist jetzt eine synchronisierte Kopie.</translation>
    </message>
</context>
<context>
    <name>JoinDialog</name>
    <message>
        <location filename="../invite_dialog.py" line="329"/>
        <source>Join with a code – SyncAssistant</source>
        <translation>Mit Code beitreten – SyncAssistant</translation>
    </message>
    <message>
        <location filename="../invite_dialog.py" line="334"/>
        <source>One-time code</source>
        <translation>Einmal-Code</translation>
    </message>
    <message>
        <location filename="../invite_dialog.py" line="335"/>
        <source>e.g. 7-guitarist-revenge</source>
        <translation>z. B. 7-guitarist-revenge</translation>
    </message>
    <message>
        <location filename="../invite_dialog.py" line="341"/>
        <source>Folder on this device</source>
        <translation>Ordner auf diesem Gerät</translation>
    </message>
    <message>
        <location filename="../invite_dialog.py" line="342"/>
        <source>~/ and the folder&apos;s name on the other device</source>
        <translation>~/ und der Name des Ordners auf dem anderen Gerät</translation>
    </message>
    <message>
        <location filename="../invite_dialog.py" line="343"/>
        <source>Bro&amp;wse…</source>
        <translation>Durchsu&amp;chen…</translation>
    </message>
    <message>
        <location filename="../invite_dialog.py" line="344"/>
        <location filename="../invite_dialog.py" line="381"/>
        <source>Choose the folder on this device</source>
        <translation>Den Ordner auf diesem Gerät wählen</translation>
    </message>
    <message>
        <location filename="../invite_dialog.py" line="346"/>
        <source>&amp;Join</source>
        <translation>&amp;Beitreten</translation>
    </message>
    <message>
        <location filename="../invite_dialog.py" line="347"/>
        <source>Join with this code</source>
        <translation>Mit diesem Code beitreten</translation>
    </message>
    <message>
        <location filename="../invite_dialog.py" line="359"/>
        <source>&amp;Code:</source>
        <translation>&amp;Code:</translation>
    </message>
    <message>
        <location filename="../invite_dialog.py" line="360"/>
        <source>&amp;Folder:</source>
        <translation>&amp;Ordner:</translation>
    </message>
    <message>
        <location filename="../invite_dialog.py" line="361"/>
        <source>Empty: a new folder in your home folder, named as on the other device. An existing folder is adopted: its files are kept and synced.</source>
        <translation>Leer: ein neuer Ordner in Ihrem Persönlichen Ordner, benannt wie auf dem anderen Gerät. Ein vorhandener Ordner wird übernommen: Seine Dateien bleiben und werden synchronisiert.</translation>
    </message>
    <message>
        <location filename="../invite_dialog.py" line="369"/>
        <source>Join with a code</source>
        <translation>Mit Code beitreten</translation>
    </message>
    <message>
        <location filename="../invite_dialog.py" line="370"/>
        <source>Type the code the other device shows under “Connect another device…”.</source>
        <translation>Geben Sie den Code ein, den das andere Gerät unter „Weiteres Gerät verbinden…“ zeigt.</translation>
    </message>
    <message>
        <location filename="../invite_dialog.py" line="393"/>
        <source>Type the code the other device shows.</source>
        <translation>Geben Sie den Code ein, den das andere Gerät zeigt.</translation>
    </message>
    <message>
        <location filename="../invite_dialog.py" line="399"/>
        <source>Not connected: give the folder&apos;s full path (starting with / or ~).</source>
        <translation>Nicht verbunden: Geben Sie den vollständigen Pfad des Ordners an (beginnend mit / oder ~).</translation>
    </message>
    <message>
        <location filename="../invite_dialog.py" line="408"/>
        <source>Connecting with the other device…</source>
        <translation>Verbindung mit dem anderen Gerät…</translation>
    </message>
    <message>
        <location filename="../invite_dialog.py" line="422"/>
        <source>The folder %1 syncs with it now.</source>
        <translation>Der Ordner %1 synchronisiert jetzt mit ihm.</translation>
    </message>
</context>
<context>
    <name>Notifications</name>
    <message>
        <location filename="../notifications.py" line="62"/>
        <source>Conflict in %1</source>
        <translation>Konflikt in %1</translation>
    </message>
    <message>
        <location filename="../notifications.py" line="60"/>
        <source>%1 was changed on two devices. Both versions are kept; open Conflicts… to choose.</source>
        <translation>%1 wurde auf zwei Geräten geändert. Beide Versionen bleiben erhalten; öffnen Sie „Konflikte…“, um zu wählen.</translation>
    </message>
    <message>
        <location filename="../notifications.py" line="57"/>
        <source>%1 was changed on %2 and on %3. Both versions are kept; open Conflicts… to choose.</source>
        <translation>%1 wurde auf %2 und auf %3 geändert. Beide Versionen bleiben erhalten; öffnen Sie „Konflikte…“, um zu wählen.</translation>
    </message>
    <message>
        <location filename="../notifications.py" line="66"/>
        <source>Syncing %1 has a problem</source>
        <translation>Problem beim Synchronisieren von %1</translation>
    </message>
    <message>
        <location filename="../notifications.py" line="75"/>
        <source>%1 is not syncing</source>
        <translation>%1 wird nicht synchronisiert</translation>
    </message>
    <message>
        <location filename="../notifications.py" line="82"/>
        <source>Can&apos;t reach %1</source>
        <translation>%1 ist nicht erreichbar</translation>
    </message>
    <message>
        <location filename="../notifications.py" line="83"/>
        <source>%1 has not synced with it since %2 attempts: %3</source>
        <translation>%1 wurde seit %2 Versuchen nicht damit synchronisiert: %3</translation>
    </message>
    <message>
        <location filename="../notifications.py" line="96"/>
        <source>Drive %1 connected</source>
        <translation>Laufwerk %1 angeschlossen</translation>
    </message>
    <message>
        <location filename="../notifications.py" line="97"/>
        <source>syncing</source>
        <translation>wird synchronisiert</translation>
    </message>
    <message numerus="yes">
        <location filename="../notifications.py" line="98"/>
        <source>syncing %n file(s)</source>
        <translation>
            <numerusform>%n Datei wird synchronisiert</numerusform>
            <numerusform>%n Dateien werden synchronisiert</numerusform>
        </translation>
    </message>
    <message>
        <location filename="../notifications.py" line="100"/>
        <source>%1 is up to date</source>
        <translation>%1 ist auf dem neuesten Stand</translation>
    </message>
    <message>
        <location filename="../notifications.py" line="101"/>
        <source>safe to remove</source>
        <translation>kann sicher entfernt werden</translation>
    </message>
    <message>
        <location filename="../notifications.py" line="103"/>
        <source>%1 is not fully synced</source>
        <translation>%1 ist nicht vollständig synchronisiert</translation>
    </message>
    <message numerus="yes">
        <location filename="../notifications.py" line="104"/>
        <source>%n file(s) could not be copied: %1</source>
        <translation>
            <numerusform>%n Datei konnte nicht kopiert werden: %1</numerusform>
            <numerusform>%n Dateien konnten nicht kopiert werden: %1</numerusform>
        </translation>
    </message>
    <message>
        <location filename="../notifications.py" line="107"/>
        <source>%1 was removed</source>
        <translation>%1 wurde entfernt</translation>
    </message>
    <message>
        <location filename="../notifications.py" line="108"/>
        <source>before it was fully synced</source>
        <translation>bevor es vollständig synchronisiert war</translation>
    </message>
</context>
<context>
    <name>RateField</name>
    <message>
        <location filename="../widgets.py" line="63"/>
        <source>unlimited</source>
        <translation>unbegrenzt</translation>
    </message>
    <message>
        <location filename="../widgets.py" line="64"/>
        <source>A speed like 500 KB/s or 2 MB/s; empty or 0 for no limit</source>
        <translation>Eine Geschwindigkeit wie 500 KB/s oder 2 MB/s; leer oder 0 für keine Begrenzung</translation>
    </message>
    <message>
        <location filename="../widgets.py" line="67"/>
        <source>Clear %1</source>
        <translation>%1 leeren</translation>
    </message>
    <message>
        <location filename="../widgets.py" line="83"/>
        <source>Not accepted: %1</source>
        <translation>Nicht akzeptiert: %1</translation>
    </message>
</context>
<context>
    <name>RemotesPage</name>
    <message>
        <location filename="../pages/remotes.py" line="51"/>
        <location filename="../pages/remotes.py" line="228"/>
        <source>Remotes</source>
        <translation>Gegenstellen</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="52"/>
        <source>Files and changes (full)</source>
        <translation>Dateien und Änderungen (vollständig)</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="53"/>
        <source>Changes only, no file content</source>
        <translation>Nur Änderungen, keine Dateiinhalte</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="54"/>
        <source>Send only</source>
        <translation>Nur senden</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="55"/>
        <source>Receive only</source>
        <translation>Nur empfangen</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="56"/>
        <source>Off</source>
        <translation>Aus</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="61"/>
        <source>&amp;Folder:</source>
        <translation>&amp;Ordner:</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="65"/>
        <source>Remotes of this folder</source>
        <translation>Gegenstellen dieses Ordners</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="68"/>
        <source>Name</source>
        <translation>Name</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="68"/>
        <source>Location</source>
        <translation>Adresse</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="68"/>
        <source>Cost</source>
        <translation>Kosten</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="68"/>
        <source>Mode</source>
        <translation>Modus</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="69"/>
        <source>Last sync</source>
        <translation>Letzte Synchronisierung</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="80"/>
        <source>Cost of the selected remote</source>
        <translation>Kosten der ausgewählten Gegenstelle</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="81"/>
        <source>Mode of the selected remote</source>
        <translation>Modus der ausgewählten Gegenstelle</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="82"/>
        <source>A&amp;pply</source>
        <translation>Ü&amp;bernehmen</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="83"/>
        <source>Apply cost and mode to the selected remote</source>
        <translation>Kosten und Modus für die ausgewählte Gegenstelle übernehmen</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="85"/>
        <source>&amp;Remove…</source>
        <translation>&amp;Entfernen…</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="86"/>
        <source>Remove the selected remote</source>
        <translation>Die ausgewählte Gegenstelle entfernen</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="89"/>
        <source>Cost:</source>
        <translation>Kosten:</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="91"/>
        <source>Mode:</source>
        <translation>Modus:</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="96"/>
        <source>Result of the change</source>
        <translation>Ergebnis der Änderung</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="101"/>
        <location filename="../pages/remotes.py" line="102"/>
        <source>Add a remote</source>
        <translation>Gegenstelle hinzufügen</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="104"/>
        <source>Remote name</source>
        <translation>Name der Gegenstelle</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="105"/>
        <source>e.g. usb-drive or server</source>
        <translation>z. B. usb-laufwerk oder server</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="106"/>
        <source>A folder or &amp;USB drive</source>
        <translation>Ein Ordner oder &amp;USB-Laufwerk</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="107"/>
        <source>The remote is a folder or USB drive</source>
        <translation>Die Gegenstelle ist ein Ordner oder USB-Laufwerk</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="108"/>
        <source>An &amp;SSH server</source>
        <translation>Ein &amp;SSH-Server</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="109"/>
        <source>The remote is an SSH server</source>
        <translation>Die Gegenstelle ist ein SSH-Server</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="110"/>
        <source>C&amp;loud storage</source>
        <translation>C&amp;loud-Speicher</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="111"/>
        <source>The remote is cloud storage (WebDAV, S3, a folder, rsync)</source>
        <translation>Die Gegenstelle ist ein Cloud-Speicher (WebDAV, S3, ein Ordner, rsync)</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="126"/>
        <source>Folder of the remote</source>
        <translation>Ordner der Gegenstelle</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="127"/>
        <source>/media/you/USB-DRIVE/Documents</source>
        <translation>/media/sie/USB-LAUFWERK/Dokumente</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="128"/>
        <source>Bro&amp;wse…</source>
        <translation>Durchsu&amp;chen…</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="129"/>
        <location filename="../pages/remotes.py" line="355"/>
        <source>Choose the remote&apos;s folder</source>
        <translation>Den Ordner der Gegenstelle wählen</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="131"/>
        <source>Start a new copy there (the folder must be empty)</source>
        <translation>Dort eine neue Kopie anlegen (der Ordner muss leer sein)</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="132"/>
        <source>Start a new copy in the empty folder</source>
        <translation>Eine neue Kopie im leeren Ordner anlegen</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="143"/>
        <source>Fol&amp;der:</source>
        <translation>Or&amp;dner:</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="149"/>
        <source>SSH user name</source>
        <translation>SSH-Benutzername</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="150"/>
        <source>optional</source>
        <translation>optional</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="152"/>
        <source>SSH server</source>
        <translation>SSH-Server</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="153"/>
        <source>server.example.org</source>
        <translation>server.example.org</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="157"/>
        <source>SSH port</source>
        <translation>SSH-Port</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="159"/>
        <source>Repository path on the server</source>
        <translation>Pfad des Repositorys auf dem Server</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="160"/>
        <source>~/Documents or /srv/sync/Documents</source>
        <translation>~/Dokumente oder /srv/sync/Dokumente</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="163"/>
        <source>&amp;User:</source>
        <translation>Benut&amp;zer:</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="164"/>
        <source>Ser&amp;ver:</source>
        <translation>Ser&amp;ver:</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="165"/>
        <source>P&amp;ort:</source>
        <translation>&amp;Port:</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="166"/>
        <source>Pat&amp;h:</source>
        <translation>Pf&amp;ad:</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="170"/>
        <source>Your own ssh key and settings are used; a key with a passphrase works once it is in your ssh agent.</source>
        <translation>Ihr eigener ssh-Schlüssel und Ihre ssh-Einstellungen werden verwendet; ein Schlüssel mit Passphrase funktioniert, sobald er in Ihrem ssh-Agenten ist.</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="189"/>
        <source>Cost of the new remote</source>
        <translation>Kosten der neuen Gegenstelle</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="190"/>
        <source>Lower cost remotes are preferred for file content (git-annex: a drive is usually 100, a server 200).</source>
        <translation>Gegenstellen mit niedrigeren Kosten werden für Dateiinhalte bevorzugt (git-annex: ein Laufwerk hat meist 100, ein Server 200).</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="192"/>
        <source>Mode of the new remote</source>
        <translation>Modus der neuen Gegenstelle</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="193"/>
        <source>&amp;Test connection</source>
        <translation>Verbindung &amp;testen</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="194"/>
        <source>Test the connection to the new remote</source>
        <translation>Die Verbindung zur neuen Gegenstelle testen</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="196"/>
        <source>Add &amp;remote</source>
        <translation>Gegenstelle &amp;hinzufügen</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="197"/>
        <source>Test and add the new remote</source>
        <translation>Die neue Gegenstelle testen und hinzufügen</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="201"/>
        <source>Connection test result</source>
        <translation>Ergebnis des Verbindungstests</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="205"/>
        <source>&amp;Name:</source>
        <translation>&amp;Name:</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="206"/>
        <source>Kind:</source>
        <translation>Art:</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="211"/>
        <source>&amp;Cost:</source>
        <translation>&amp;Kosten:</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="213"/>
        <source>&amp;Mode:</source>
        <translation>&amp;Modus:</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="229"/>
        <source>The other copies this folder syncs with: another folder, a USB drive, or a server you reach over SSH.</source>
        <translation>Die anderen Kopien, mit denen dieser Ordner synchronisiert wird: ein anderer Ordner, ein USB-Laufwerk oder ein Server, den Sie über SSH erreichen.</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="244"/>
        <source>Modes to choose from</source>
        <translation>Verfügbare Modi</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="261"/>
        <source>Cannot read the remotes: %1</source>
        <translation>Die Gegenstellen können nicht gelesen werden: %1</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="275"/>
        <source>The default for this kind of remote</source>
        <translation>Die Voreinstellung für diese Art von Gegenstelle</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="288"/>
        <source>not synced</source>
        <translation>nicht synchronisiert</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="290"/>
        <source>failing: %1</source>
        <translation>fehlerhaft: %1</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="315"/>
        <source>Saved: %1 now has cost %2 and mode “%3”.</source>
        <translation>Gespeichert: %1 hat jetzt die Kosten %2 und den Modus „%3“.</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="322"/>
        <source>Remove remote?</source>
        <translation>Gegenstelle entfernen?</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="323"/>
        <source>Stop syncing with %1? Nothing is deleted there.</source>
        <translation>Die Synchronisierung mit %1 beenden? Dort wird nichts gelöscht.</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="327"/>
        <source>Removed %1.</source>
        <translation>%1 entfernt.</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="331"/>
        <source>That did not work: %1</source>
        <translation>Das hat nicht geklappt: %1</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="341"/>
        <source>this folder is not running</source>
        <translation>dieser Ordner läuft nicht</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="371"/>
        <location filename="../pages/remotes.py" line="473"/>
        <source>Add a folder first (Folders page).</source>
        <translation>Fügen Sie zuerst einen Ordner hinzu (Seite „Ordner“).</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="406"/>
        <source>The folder is empty: a new copy can start there.</source>
        <translation>Der Ordner ist leer: Dort kann eine neue Kopie angelegt werden.</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="407"/>
        <source>The folder is not empty: a new copy needs an empty folder.</source>
        <translation>Der Ordner ist nicht leer: Eine neue Kopie braucht einen leeren Ordner.</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="409"/>
        <source>Connecting to %1…</source>
        <translation>Verbindung mit %1 wird hergestellt…</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="416"/>
        <source>Cannot reach %1: %2</source>
        <translation>%1 ist nicht erreichbar: %2</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="419"/>
        <source>Reached %1: it holds a repository.</source>
        <translation>%1 erreicht: Dort liegt ein Repository.</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="442"/>
        <source>the test failed: cannot reach %1: %2</source>
        <translation>der Test ist fehlgeschlagen: %1 ist nicht erreichbar: %2</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="455"/>
        <source>Not added: %1</source>
        <translation>Nicht hinzugefügt: %1</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="458"/>
        <source>Added %1; syncing with it now.</source>
        <translation>%1 hinzugefügt; die Synchronisierung läuft jetzt.</translation>
    </message>
    <message>
        <location filename="../pages/remotes.py" line="464"/>
        <source>Testing %1 before adding it…</source>
        <translation>%1 wird vor dem Hinzufügen getestet…</translation>
    </message>
</context>
<context>
    <name>RepoChooser</name>
    <message>
        <location filename="../pages/common.py" line="21"/>
        <source>Folder</source>
        <translation>Ordner</translation>
    </message>
    <message>
        <location filename="../pages/common.py" line="22"/>
        <source>Synced folders to choose from</source>
        <translation>Synchronisierte Ordner zur Auswahl</translation>
    </message>
</context>
<context>
    <name>RepositoriesPage</name>
    <message>
        <location filename="../pages/repositories.py" line="54"/>
        <source>Folders</source>
        <translation>Ordner</translation>
    </message>
    <message>
        <location filename="../pages/repositories.py" line="57"/>
        <location filename="../pages/repositories.py" line="94"/>
        <source>Synced folders</source>
        <translation>Synchronisierte Ordner</translation>
    </message>
    <message>
        <location filename="../pages/repositories.py" line="60"/>
        <source>Folder</source>
        <translation>Ordner</translation>
    </message>
    <message>
        <location filename="../pages/repositories.py" line="60"/>
        <source>Location</source>
        <translation>Speicherort</translation>
    </message>
    <message>
        <location filename="../pages/repositories.py" line="60"/>
        <source>State</source>
        <translation>Zustand</translation>
    </message>
    <message>
        <location filename="../pages/repositories.py" line="69"/>
        <source>&amp;Stop syncing this folder…</source>
        <translation>Synchronisierung dieses Ordners &amp;beenden…</translation>
    </message>
    <message>
        <location filename="../pages/repositories.py" line="70"/>
        <source>Stop syncing the selected folder</source>
        <translation>Die Synchronisierung des ausgewählten Ordners beenden</translation>
    </message>
    <message>
        <location filename="../pages/repositories.py" line="74"/>
        <source>Folder to add</source>
        <translation>Hinzuzufügender Ordner</translation>
    </message>
    <message>
        <location filename="../pages/repositories.py" line="75"/>
        <source>/home/you/Documents</source>
        <translation>/home/sie/Dokumente</translation>
    </message>
    <message>
        <location filename="../pages/repositories.py" line="77"/>
        <source>&amp;Browse…</source>
        <translation>&amp;Durchsuchen…</translation>
    </message>
    <message>
        <location filename="../pages/repositories.py" line="78"/>
        <source>Choose the folder to add</source>
        <translation>Den hinzuzufügenden Ordner wählen</translation>
    </message>
    <message>
        <location filename="../pages/repositories.py" line="80"/>
        <location filename="../pages/repositories.py" line="160"/>
        <source>&amp;Add folder</source>
        <translation>Ordner &amp;hinzufügen</translation>
    </message>
    <message>
        <location filename="../pages/repositories.py" line="81"/>
        <source>Add this folder</source>
        <translation>Diesen Ordner hinzufügen</translation>
    </message>
    <message>
        <location filename="../pages/repositories.py" line="95"/>
        <source>Each folder here is kept in sync with the devices, drives and servers you add under Remotes. Files stay ordinary files you can open and edit.</source>
        <translation>Jeder Ordner hier wird mit den Geräten, Laufwerken und Servern synchron gehalten, die Sie unter „Gegenstellen“ hinzufügen. Dateien bleiben gewöhnliche Dateien, die Sie öffnen und bearbeiten können.</translation>
    </message>
    <message>
        <location filename="../pages/repositories.py" line="102"/>
        <source>Add a folder</source>
        <translation>Ordner hinzufügen</translation>
    </message>
    <message>
        <location filename="../pages/repositories.py" line="103"/>
        <source>An existing folder with your files, an empty folder, or a copy you made from another device. Nothing in it is deleted.</source>
        <translation>Ein vorhandener Ordner mit Ihren Dateien, ein leerer Ordner oder eine Kopie, die Sie von einem anderen Gerät erstellt haben. Darin wird nichts gelöscht.</translation>
    </message>
    <message>
        <location filename="../pages/repositories.py" line="142"/>
        <source>Choose a folder to sync</source>
        <translation>Einen Ordner zum Synchronisieren wählen</translation>
    </message>
    <message>
        <location filename="../pages/repositories.py" line="155"/>
        <source>Setting up…</source>
        <translation>Wird eingerichtet…</translation>
    </message>
    <message>
        <location filename="../pages/repositories.py" line="172"/>
        <source>Stop syncing?</source>
        <translation>Synchronisierung beenden?</translation>
    </message>
    <message>
        <location filename="../pages/repositories.py" line="173"/>
        <source>Stop syncing %1? The folder and its files stay where they are.</source>
        <translation>Die Synchronisierung von %1 beenden? Der Ordner und seine Dateien bleiben, wo sie sind.</translation>
    </message>
</context>
<context>
    <name>RestoreDialog</name>
    <message>
        <location filename="../history_window.py" line="317"/>
        <source>Versions of %1</source>
        <translation>Versionen von %1</translation>
    </message>
    <message>
        <location filename="../history_window.py" line="318"/>
        <source>Versions of a file</source>
        <translation>Versionen einer Datei</translation>
    </message>
    <message>
        <location filename="../history_window.py" line="326"/>
        <source>Versions, newest first</source>
        <translation>Versionen, neueste zuerst</translation>
    </message>
    <message>
        <location filename="../history_window.py" line="329"/>
        <source>Version</source>
        <translation>Version</translation>
    </message>
    <message>
        <location filename="../history_window.py" line="329"/>
        <source>When</source>
        <translation>Wann</translation>
    </message>
    <message>
        <location filename="../history_window.py" line="329"/>
        <source>Device</source>
        <translation>Gerät</translation>
    </message>
    <message>
        <location filename="../history_window.py" line="329"/>
        <source>Size</source>
        <translation>Größe</translation>
    </message>
    <message>
        <location filename="../history_window.py" line="330"/>
        <source>Content</source>
        <translation>Inhalt</translation>
    </message>
    <message>
        <location filename="../history_window.py" line="338"/>
        <location filename="../history_window.py" line="343"/>
        <source>Preview of the version</source>
        <translation>Vorschau der Version</translation>
    </message>
    <message>
        <location filename="../history_window.py" line="353"/>
        <source>Result</source>
        <translation>Ergebnis</translation>
    </message>
    <message>
        <location filename="../history_window.py" line="354"/>
        <source>&amp;Restore</source>
        <translation>&amp;Wiederherstellen</translation>
    </message>
    <message>
        <location filename="../history_window.py" line="355"/>
        <source>Restore this version at the file&apos;s name</source>
        <translation>Diese Version unter dem Namen der Datei wiederherstellen</translation>
    </message>
    <message>
        <location filename="../history_window.py" line="356"/>
        <source>The file gets this version back; the version it has now stays in the history.</source>
        <translation>Die Datei erhält diese Version zurück; die jetzige Version bleibt im Verlauf.</translation>
    </message>
    <message>
        <location filename="../history_window.py" line="359"/>
        <source>Restore as &amp;copy</source>
        <translation>Als &amp;Kopie wiederherstellen</translation>
    </message>
    <message>
        <location filename="../history_window.py" line="360"/>
        <source>Restore this version beside the file, under a new name</source>
        <translation>Diese Version neben der Datei unter einem neuen Namen wiederherstellen</translation>
    </message>
    <message>
        <location filename="../history_window.py" line="362"/>
        <source>Close</source>
        <translation>Schließen</translation>
    </message>
    <message>
        <location filename="../history_window.py" line="382"/>
        <source>Looking for the versions and where their content is…</source>
        <translation>Versionen und ihr Inhalt werden gesucht…</translation>
    </message>
    <message>
        <location filename="../history_window.py" line="389"/>
        <source>on this device</source>
        <translation>auf diesem Gerät</translation>
    </message>
    <message>
        <location filename="../history_window.py" line="391"/>
        <source>on %1, not reachable now</source>
        <translation>auf %1, gerade nicht erreichbar</translation>
    </message>
    <message>
        <location filename="../history_window.py" line="393"/>
        <source>on %1</source>
        <translation>auf %1</translation>
    </message>
    <message>
        <location filename="../history_window.py" line="395"/>
        <source>on no device known here</source>
        <translation>auf keinem hier bekannten Gerät</translation>
    </message>
    <message>
        <location filename="../history_window.py" line="399"/>
        <source>Could not read the versions: %1</source>
        <translation>Die Versionen konnten nicht gelesen werden: %1</translation>
    </message>
    <message>
        <location filename="../history_window.py" line="409"/>
        <source>The file was deleted after this version.</source>
        <translation>Die Datei wurde nach dieser Version gelöscht.</translation>
    </message>
    <message numerus="yes">
        <location filename="../history_window.py" line="418"/>
        <source>%n version(s)</source>
        <translation>
            <numerusform>%n Version</numerusform>
            <numerusform>%n Versionen</numerusform>
        </translation>
    </message>
    <message>
        <location filename="../history_window.py" line="419"/>
        <source>No version of this file is in the history.</source>
        <translation>Keine Version dieser Datei ist im Verlauf.</translation>
    </message>
    <message>
        <location filename="../history_window.py" line="438"/>
        <location filename="../history_window.py" line="452"/>
        <source>No preview: the content of this version is not on this device.</source>
        <translation>Keine Vorschau: Der Inhalt dieser Version ist nicht auf diesem Gerät.</translation>
    </message>
    <message>
        <location filename="../history_window.py" line="464"/>
        <source>No preview for this kind of file.</source>
        <translation>Keine Vorschau für diese Art Datei.</translation>
    </message>
    <message>
        <location filename="../history_window.py" line="480"/>
        <source>Restoring version %1…</source>
        <translation>Version %1 wird wiederhergestellt…</translation>
    </message>
    <message>
        <location filename="../history_window.py" line="494"/>
        <source>Not restored: %1</source>
        <translation>Nicht wiederhergestellt: %1</translation>
    </message>
    <message>
        <location filename="../history_window.py" line="496"/>
        <source>Restored as %1. The change is syncing to your other devices.</source>
        <translation>Als %1 wiederhergestellt. Die Änderung wird mit Ihren anderen Geräten abgeglichen.</translation>
    </message>
</context>
<context>
    <name>RulesPage</name>
    <message>
        <location filename="../pages/rules.py" line="72"/>
        <location filename="../pages/rules.py" line="108"/>
        <source>Rules</source>
        <translation>Regeln</translation>
    </message>
    <message>
        <location filename="../pages/rules.py" line="78"/>
        <source>Folders and their content rules</source>
        <translation>Ordner und ihre Inhaltsregeln</translation>
    </message>
    <message>
        <location filename="../pages/rules.py" line="79"/>
        <source>Folder</source>
        <translation>Ordner</translation>
    </message>
    <message>
        <location filename="../pages/rules.py" line="79"/>
        <source>Content on this device</source>
        <translation>Inhalt auf diesem Gerät</translation>
    </message>
    <message>
        <location filename="../pages/rules.py" line="86"/>
        <source>&amp;Include</source>
        <translation>&amp;Einbeziehen</translation>
    </message>
    <message>
        <location filename="../pages/rules.py" line="87"/>
        <source>Keep the selected folder&apos;s content on this device</source>
        <translation>Den Inhalt des ausgewählten Ordners auf diesem Gerät behalten</translation>
    </message>
    <message>
        <location filename="../pages/rules.py" line="89"/>
        <source>&amp;Exclude</source>
        <translation>&amp;Ausschließen</translation>
    </message>
    <message>
        <location filename="../pages/rules.py" line="90"/>
        <source>Do not keep the selected folder&apos;s content here</source>
        <translation>Den Inhalt des ausgewählten Ordners hier nicht behalten</translation>
    </message>
    <message>
        <location filename="../pages/rules.py" line="92"/>
        <source>&amp;Remove rule</source>
        <translation>&amp;Regel entfernen</translation>
    </message>
    <message>
        <location filename="../pages/rules.py" line="93"/>
        <source>Remove the selected folder&apos;s own rule</source>
        <translation>Die eigene Regel des ausgewählten Ordners entfernen</translation>
    </message>
    <message>
        <location filename="../pages/rules.py" line="97"/>
        <source>Result</source>
        <translation>Ergebnis</translation>
    </message>
    <message>
        <location filename="../pages/rules.py" line="105"/>
        <source>Folder:</source>
        <translation>Ordner:</translation>
    </message>
    <message>
        <location filename="../pages/rules.py" line="109"/>
        <source>Choose which folders&apos; content is kept on this device. Files in an excluded folder still show up by name; their content stays on your other devices. Once you include a folder, only included folders are kept here; an exclude always wins.</source>
        <translation>Wählen Sie, welche Ordnerinhalte auf diesem Gerät behalten werden. Dateien in einem ausgeschlossenen Ordner erscheinen weiterhin mit ihrem Namen; ihr Inhalt bleibt auf Ihren anderen Geräten. Sobald Sie einen Ordner einbeziehen, werden nur noch einbezogene Ordner hier behalten; ein Ausschluss hat immer Vorrang.</translation>
    </message>
    <message>
        <location filename="../pages/rules.py" line="125"/>
        <source>Per-folder rules need a newer sync engine.</source>
        <translation>Regeln pro Ordner brauchen eine neuere Sync-Engine.</translation>
    </message>
    <message>
        <location filename="../pages/rules.py" line="141"/>
        <source>Cannot read the rules: %1</source>
        <translation>Die Regeln können nicht gelesen werden: %1</translation>
    </message>
    <message>
        <location filename="../pages/rules.py" line="152"/>
        <source>(the whole folder)</source>
        <translation>(der ganze Ordner)</translation>
    </message>
    <message>
        <location filename="../pages/rules.py" line="186"/>
        <source>Everything not excluded</source>
        <translation>Alles, was nicht ausgeschlossen ist</translation>
    </message>
    <message>
        <location filename="../pages/rules.py" line="187"/>
        <source>Only included folders</source>
        <translation>Nur einbezogene Ordner</translation>
    </message>
    <message>
        <location filename="../pages/rules.py" line="191"/>
        <source>Included</source>
        <translation>Einbezogen</translation>
    </message>
    <message>
        <location filename="../pages/rules.py" line="191"/>
        <source>Excluded</source>
        <translation>Ausgeschlossen</translation>
    </message>
    <message>
        <location filename="../pages/rules.py" line="193"/>
        <source>%1 (follows the rules above)</source>
        <translation>%1 (folgt den Regeln darüber)</translation>
    </message>
    <message>
        <location filename="../pages/rules.py" line="229"/>
        <source>Not changed: %1</source>
        <translation>Nicht geändert: %1</translation>
    </message>
    <message>
        <location filename="../pages/rules.py" line="232"/>
        <source>Saved. Content follows the new rule as it syncs.</source>
        <translation>Gespeichert. Die Inhalte folgen beim Synchronisieren der neuen Regel.</translation>
    </message>
</context>
<context>
    <name>SettingsDialog</name>
    <message>
        <location filename="../settings_dialog.py" line="41"/>
        <source>Settings – SyncAssistant</source>
        <translation>Einstellungen – SyncAssistant</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="43"/>
        <source>Settings</source>
        <translation>Einstellungen</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="48"/>
        <source>Settings pages</source>
        <translation>Einstellungsseiten</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="60"/>
        <source>Folders</source>
        <translation>Ordner</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="60"/>
        <source>Remotes</source>
        <translation>Gegenstellen</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="60"/>
        <source>Devices</source>
        <translation>Geräte</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="61"/>
        <source>Bandwidth</source>
        <translation>Bandbreite</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="61"/>
        <source>Rules</source>
        <translation>Regeln</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="61"/>
        <source>General</source>
        <translation>Allgemein</translation>
    </message>
    <message>
        <location filename="../settings_dialog.py" line="75"/>
        <source>Close settings</source>
        <translation>Einstellungen schließen</translation>
    </message>
</context>
<context>
    <name>Summary</name>
    <message>
        <location filename="../state.py" line="114"/>
        <source>Syncing changes…</source>
        <translation>Änderungen werden synchronisiert…</translation>
    </message>
    <message numerus="yes">
        <location filename="../state.py" line="116"/>
        <source>Syncing %n file(s)</source>
        <translation>
            <numerusform>%n Datei wird synchronisiert</numerusform>
            <numerusform>%n Dateien werden synchronisiert</numerusform>
        </translation>
    </message>
    <message>
        <location filename="../state.py" line="118"/>
        <source>%1, %2 left</source>
        <translation>%1, noch %2</translation>
    </message>
    <message>
        <location filename="../state.py" line="127"/>
        <source>metered connection</source>
        <translation>getaktete Verbindung</translation>
    </message>
    <message>
        <location filename="../state.py" line="129"/>
        <source>on another network (%1)</source>
        <translation>in einem anderen Netzwerk (%1)</translation>
    </message>
    <message>
        <location filename="../state.py" line="131"/>
        <source>on battery (%1 %)</source>
        <translation>im Akkubetrieb (%1 %)</translation>
    </message>
    <message>
        <location filename="../state.py" line="133"/>
        <source>on battery</source>
        <translation>im Akkubetrieb</translation>
    </message>
    <message>
        <location filename="../state.py" line="136"/>
        <source>Paused: %1</source>
        <translation>Pausiert: %1</translation>
    </message>
    <message>
        <location filename="../state.py" line="137"/>
        <source>Holding content: %1</source>
        <translation>Inhalte zurückgehalten: %1</translation>
    </message>
    <message>
        <location filename="../state.py" line="144"/>
        <source>Not syncing: %1</source>
        <translation>Keine Synchronisierung: %1</translation>
    </message>
    <message>
        <location filename="../state.py" line="146"/>
        <source>Starting…</source>
        <translation>Wird gestartet…</translation>
    </message>
    <message>
        <location filename="../state.py" line="150"/>
        <source>Problem while syncing (%1): %2</source>
        <translation>Problem beim Synchronisieren (%1): %2</translation>
    </message>
    <message numerus="yes">
        <location filename="../state.py" line="153"/>
        <location filename="../state.py" line="182"/>
        <source>%n conflict(s) to resolve</source>
        <translation>
            <numerusform>%n ungelöster Konflikt</numerusform>
            <numerusform>%n ungelöste Konflikte</numerusform>
        </translation>
    </message>
    <message>
        <location filename="../state.py" line="155"/>
        <source>Paused</source>
        <translation>Pausiert</translation>
    </message>
    <message>
        <location filename="../state.py" line="165"/>
        <source>Can&apos;t reach %1</source>
        <translation>%1 nicht erreichbar</translation>
    </message>
    <message>
        <location filename="../state.py" line="167"/>
        <source>Up to date (no other devices yet)</source>
        <translation>Aktuell (noch keine anderen Geräte)</translation>
    </message>
    <message>
        <location filename="../state.py" line="168"/>
        <source>Up to date</source>
        <translation>Aktuell</translation>
    </message>
    <message>
        <location filename="../state.py" line="174"/>
        <source>No folders set up yet</source>
        <translation>Noch keine Ordner eingerichtet</translation>
    </message>
    <message>
        <location filename="../state.py" line="184"/>
        <source>Syncing is paused</source>
        <translation>Synchronisierung ist pausiert</translation>
    </message>
    <message>
        <location filename="../state.py" line="189"/>
        <source>Everything is up to date</source>
        <translation>Alles ist aktuell</translation>
    </message>
    <message>
        <location filename="../state.py" line="340"/>
        <source>never</source>
        <translation>nie</translation>
    </message>
</context>
<context>
    <name>TransfersModel</name>
    <message>
        <location filename="../transfers_window.py" line="59"/>
        <source>File</source>
        <translation>Datei</translation>
    </message>
    <message>
        <location filename="../transfers_window.py" line="59"/>
        <source>Direction</source>
        <translation>Richtung</translation>
    </message>
    <message>
        <location filename="../transfers_window.py" line="59"/>
        <source>Remote</source>
        <translation>Gegenstelle</translation>
    </message>
    <message>
        <location filename="../transfers_window.py" line="59"/>
        <source>Progress</source>
        <translation>Fortschritt</translation>
    </message>
    <message>
        <location filename="../transfers_window.py" line="60"/>
        <source>Speed</source>
        <translation>Geschwindigkeit</translation>
    </message>
    <message>
        <location filename="../transfers_window.py" line="60"/>
        <source>Time left</source>
        <translation>Restzeit</translation>
    </message>
    <message>
        <location filename="../transfers_window.py" line="125"/>
        <source>Error: %1</source>
        <translation>Fehler: %1</translation>
    </message>
    <message>
        <location filename="../transfers_window.py" line="145"/>
        <source>↑ Upload</source>
        <translation>↑ Hochladen</translation>
    </message>
    <message>
        <location filename="../transfers_window.py" line="145"/>
        <source>↓ Download</source>
        <translation>↓ Herunterladen</translation>
    </message>
    <message>
        <location filename="../transfers_window.py" line="166"/>
        <source>%1 of %2</source>
        <translation>%1 von %2</translation>
    </message>
    <message>
        <location filename="../transfers_window.py" line="169"/>
        <source>Already here</source>
        <translation>Schon hier</translation>
    </message>
    <message>
        <location filename="../transfers_window.py" line="169"/>
        <source>Already there</source>
        <translation>Schon dort</translation>
    </message>
    <message>
        <location filename="../transfers_window.py" line="171"/>
        <source>Another device brings it</source>
        <translation>Kommt über ein anderes Gerät</translation>
    </message>
    <message>
        <location filename="../transfers_window.py" line="172"/>
        <source>Waiting</source>
        <translation>Wartet</translation>
    </message>
    <message>
        <location filename="../transfers_window.py" line="172"/>
        <source>Done</source>
        <translation>Fertig</translation>
    </message>
    <message>
        <location filename="../transfers_window.py" line="172"/>
        <source>Failed</source>
        <translation>Fehlgeschlagen</translation>
    </message>
    <message>
        <location filename="../transfers_window.py" line="173"/>
        <source>Cancelled</source>
        <translation>Abgebrochen</translation>
    </message>
</context>
<context>
    <name>TransfersWindow</name>
    <message>
        <location filename="../transfers_window.py" line="207"/>
        <source>Transfers – SyncAssistant</source>
        <translation>Übertragungen – SyncAssistant</translation>
    </message>
    <message>
        <location filename="../transfers_window.py" line="208"/>
        <location filename="../transfers_window.py" line="215"/>
        <source>Transfers</source>
        <translation>Übertragungen</translation>
    </message>
    <message>
        <location filename="../transfers_window.py" line="212"/>
        <source>Transfer summary</source>
        <translation>Übersicht der Übertragungen</translation>
    </message>
    <message>
        <location filename="../transfers_window.py" line="233"/>
        <source>No transfers right now: every file is where it should be.</source>
        <translation>Gerade keine Übertragungen: Jede Datei ist dort, wo sie sein soll.</translation>
    </message>
    <message>
        <location filename="../transfers_window.py" line="235"/>
        <source>No transfers</source>
        <translation>Keine Übertragungen</translation>
    </message>
    <message>
        <location filename="../transfers_window.py" line="240"/>
        <source>&amp;Cancel transfer</source>
        <translation>Übertragung &amp;abbrechen</translation>
    </message>
    <message>
        <location filename="../transfers_window.py" line="241"/>
        <source>Cancel the selected transfers</source>
        <translation>Die ausgewählten Übertragungen abbrechen</translation>
    </message>
    <message>
        <location filename="../transfers_window.py" line="243"/>
        <source>&amp;Retry</source>
        <translation>&amp;Wiederholen</translation>
    </message>
    <message>
        <location filename="../transfers_window.py" line="244"/>
        <source>Retry the selected transfers</source>
        <translation>Die ausgewählten Übertragungen wiederholen</translation>
    </message>
    <message>
        <location filename="../transfers_window.py" line="251"/>
        <source>Speed limits (all folders)</source>
        <translation>Geschwindigkeitsbegrenzungen (alle Ordner)</translation>
    </message>
    <message>
        <location filename="../transfers_window.py" line="252"/>
        <source>Speed limits</source>
        <translation>Geschwindigkeitsbegrenzungen</translation>
    </message>
    <message>
        <location filename="../transfers_window.py" line="253"/>
        <source>Upload limit</source>
        <translation>Upload-Begrenzung</translation>
    </message>
    <message>
        <location filename="../transfers_window.py" line="254"/>
        <source>Download limit</source>
        <translation>Download-Begrenzung</translation>
    </message>
    <message>
        <location filename="../transfers_window.py" line="258"/>
        <source>&amp;Upload:</source>
        <translation>&amp;Hochladen:</translation>
    </message>
    <message>
        <location filename="../transfers_window.py" line="259"/>
        <source>&amp;Download:</source>
        <translation>He&amp;runterladen:</translation>
    </message>
    <message>
        <location filename="../transfers_window.py" line="260"/>
        <source>Changes apply at once, also to transfers already running. Limits for one remote are in Settings → Bandwidth.</source>
        <translation>Änderungen gelten sofort, auch für bereits laufende Übertragungen. Begrenzungen für einzelne Gegenstellen finden Sie unter Einstellungen → Bandbreite.</translation>
    </message>
    <message numerus="yes">
        <location filename="../transfers_window.py" line="300"/>
        <source>%n running</source>
        <translation>
            <numerusform>%n läuft</numerusform>
            <numerusform>%n laufen</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location filename="../transfers_window.py" line="302"/>
        <source>%n waiting</source>
        <translation>
            <numerusform>%n wartet</numerusform>
            <numerusform>%n warten</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location filename="../transfers_window.py" line="304"/>
        <source>%n failed</source>
        <translation>
            <numerusform>%n fehlgeschlagen</numerusform>
            <numerusform>%n fehlgeschlagen</numerusform>
        </translation>
    </message>
    <message>
        <location filename="../transfers_window.py" line="307"/>
        <source>%1 left</source>
        <translation>noch %1</translation>
    </message>
    <message>
        <location filename="../transfers_window.py" line="310"/>
        <source>%1 in total</source>
        <translation>%1 insgesamt</translation>
    </message>
    <message>
        <location filename="../transfers_window.py" line="311"/>
        <source>Nothing is moving right now.</source>
        <translation>Gerade wird nichts übertragen.</translation>
    </message>
    <message>
        <location filename="../transfers_window.py" line="335"/>
        <source>Speed limits need the transfer engine, which is not running for any folder.</source>
        <translation>Geschwindigkeitsbegrenzungen brauchen die Übertragungs-Engine, die aber für keinen Ordner läuft.</translation>
    </message>
    <message>
        <location filename="../transfers_window.py" line="360"/>
        <source>That did not work: %1</source>
        <translation>Das hat nicht geklappt: %1</translation>
    </message>
</context>
<context>
    <name>Tray</name>
    <message>
        <location filename="../tray.py" line="37"/>
        <source>SyncAssistant menu</source>
        <translation>SyncAssistant-Menü</translation>
    </message>
    <message>
        <location filename="../tray.py" line="41"/>
        <location filename="../tray.py" line="42"/>
        <source>Open folder</source>
        <translation>Ordner öffnen</translation>
    </message>
    <message>
        <location filename="../tray.py" line="43"/>
        <source>Open a synced folder</source>
        <translation>Einen synchronisierten Ordner öffnen</translation>
    </message>
    <message>
        <location filename="../tray.py" line="45"/>
        <location filename="../tray.py" line="130"/>
        <source>Pause syncing</source>
        <translation>Synchronisierung pausieren</translation>
    </message>
    <message>
        <location filename="../tray.py" line="47"/>
        <source>Sync now</source>
        <translation>Jetzt synchronisieren</translation>
    </message>
    <message>
        <location filename="../tray.py" line="50"/>
        <source>Sync anyway for an hour</source>
        <translation>Trotzdem eine Stunde synchronisieren</translation>
    </message>
    <message>
        <location filename="../tray.py" line="51"/>
        <source>Sync every folder now, whatever the connection or the battery; the conditions apply again after an hour</source>
        <translation>Alle Ordner jetzt synchronisieren, unabhängig von Verbindung und Akku; nach einer Stunde gelten die Bedingungen wieder</translation>
    </message>
    <message>
        <location filename="../tray.py" line="56"/>
        <source>Transfers…</source>
        <translation>Übertragungen…</translation>
    </message>
    <message>
        <location filename="../tray.py" line="58"/>
        <location filename="../tray.py" line="138"/>
        <source>Conflicts…</source>
        <translation>Konflikte…</translation>
    </message>
    <message>
        <location filename="../tray.py" line="60"/>
        <source>Recent changes…</source>
        <translation>Letzte Änderungen…</translation>
    </message>
    <message>
        <location filename="../tray.py" line="62"/>
        <source>Connect another device…</source>
        <translation>Weiteres Gerät verbinden…</translation>
    </message>
    <message>
        <location filename="../tray.py" line="64"/>
        <source>Join with a code…</source>
        <translation>Mit Code beitreten…</translation>
    </message>
    <message>
        <location filename="../tray.py" line="66"/>
        <source>Settings…</source>
        <translation>Einstellungen…</translation>
    </message>
    <message>
        <location filename="../tray.py" line="69"/>
        <source>Quit</source>
        <translation>Beenden</translation>
    </message>
    <message>
        <location filename="../tray.py" line="91"/>
        <source>SyncAssistant: %1</source>
        <translation>SyncAssistant: %1</translation>
    </message>
    <message>
        <location filename="../tray.py" line="101"/>
        <source>Show what needs attention in %1</source>
        <translation>Anzeigen, was in %1 Aufmerksamkeit erfordert</translation>
    </message>
    <message>
        <location filename="../tray.py" line="113"/>
        <source>%1: %2</source>
        <translation>%1: %2</translation>
    </message>
    <message>
        <location filename="../tray.py" line="115"/>
        <source>%1 (synced %2)</source>
        <translation>%1 (synchronisiert %2)</translation>
    </message>
    <message>
        <location filename="../tray.py" line="130"/>
        <source>Resume syncing</source>
        <translation>Synchronisierung fortsetzen</translation>
    </message>
    <message numerus="yes">
        <location filename="../tray.py" line="138"/>
        <source>Conflicts (%n)…</source>
        <translation>
            <numerusform>Konflikte (%n)…</numerusform>
            <numerusform>Konflikte (%n)…</numerusform>
        </translation>
    </message>
    <message>
        <location filename="../tray.py" line="143"/>
        <source>No folders yet: add one in Settings</source>
        <translation>Noch keine Ordner: in den Einstellungen hinzufügen</translation>
    </message>
</context>
<context>
    <name>_JobDialog</name>
    <message>
        <location filename="../invite_dialog.py" line="59"/>
        <source>Working</source>
        <translation>In Arbeit</translation>
    </message>
    <message>
        <location filename="../invite_dialog.py" line="64"/>
        <source>What is happening</source>
        <translation>Was gerade geschieht</translation>
    </message>
    <message>
        <location filename="../invite_dialog.py" line="65"/>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
    <message>
        <location filename="../invite_dialog.py" line="66"/>
        <source>Cancel and take back what was made</source>
        <translation>Abbrechen und Angelegtes zurücknehmen</translation>
    </message>
    <message>
        <location filename="../invite_dialog.py" line="69"/>
        <source>Close</source>
        <translation>Schließen</translation>
    </message>
    <message>
        <location filename="../invite_dialog.py" line="70"/>
        <source>Close this window</source>
        <translation>Dieses Fenster schließen</translation>
    </message>
    <message>
        <location filename="../invite_dialog.py" line="100"/>
        <source>Cancelling: taking back what was made…</source>
        <translation>Wird abgebrochen: Angelegtes wird zurückgenommen…</translation>
    </message>
    <message>
        <location filename="../invite_dialog.py" line="111"/>
        <source>%1 answered: connecting…</source>
        <translation>%1 hat geantwortet: Verbindung wird hergestellt…</translation>
    </message>
    <message>
        <location filename="../invite_dialog.py" line="113"/>
        <source>Trying ssh between this device and %1…</source>
        <translation>ssh zwischen diesem Gerät und %1 wird versucht…</translation>
    </message>
    <message>
        <location filename="../invite_dialog.py" line="115"/>
        <source>No ssh path between the devices: connecting through the cloud storage “%1”…</source>
        <translation>Kein ssh-Weg zwischen den Geräten: Verbindung über den Cloud-Speicher „%1“…</translation>
    </message>
    <message>
        <location filename="../invite_dialog.py" line="126"/>
        <source>Cancelled. Nothing was changed.</source>
        <translation>Abgebrochen. Nichts wurde verändert.</translation>
    </message>
    <message>
        <location filename="../invite_dialog.py" line="128"/>
        <source>Not connected: %1</source>
        <translation>Nicht verbunden: %1</translation>
    </message>
    <message>
        <location filename="../invite_dialog.py" line="136"/>
        <source>Connected to %1 through the cloud storage “%2”: the two devices cannot reach each other over ssh, so they sync through it.</source>
        <translation>Mit %1 über den Cloud-Speicher „%2“ verbunden: Die beiden Geräte erreichen einander nicht über ssh und synchronisieren deshalb darüber.</translation>
    </message>
    <message>
        <location filename="../invite_dialog.py" line="139"/>
        <source>Connected to %1.</source>
        <translation>Mit %1 verbunden.</translation>
    </message>
</context>
</TS>
