// Run by the compose `mongo-users` container (mongosh) at every `up`: each
// service gets a database user of its own, named after it, with readWrite on
// its own database and nothing else; its password is set from .env every
// time, so a password changed there is changed here at the next `up`.
const admin = db.getSiblingDB("admin");
admin.auth(process.env.MONGO_ROOT_USER, process.env.MONGO_ROOT_PASSWORD);

const passwordVariables = {
  neighborhood_committee: "COMMITTEE_DB_PASSWORD",
  community_police: "POLICE_DB_PASSWORD",
  floating_population_office: "FLOATING_DB_PASSWORD",
  property_company: "PROPERTY_DB_PASSWORD",
  developer: "DEVELOPER_DB_PASSWORD",
};

for (const [service, variable] of Object.entries(passwordVariables)) {
  const password = process.env[variable];
  if (!password) {
    throw new Error(variable + " is not set");
  }
  const roles = [{ role: "readWrite", db: service }];
  if (admin.getUser(service) === null) {
    admin.createUser({ user: service, pwd: password, roles: roles });
    print("created the database user " + service);
  } else {
    admin.updateUser(service, { pwd: password, roles: roles });
    print("updated the database user " + service);
  }
}
